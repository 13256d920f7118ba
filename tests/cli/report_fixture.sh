#!/usr/bin/env bash
# report_fixture.sh DIR RINGBENCH MPIRUN...: the CPU results file the report, export, trace and
# compare tests read (a ctest fixture, made once): DIR/r.h5 with a checked sweep on 2 ranks
# (sequence lengths x masks x layouts) and the zigzag cases again on 4 ranks, so every section and
# plot of the report has data; DIR/t.json, the 2-rank sweep's timeline.
set -euo pipefail
dir=$1 ringbench=$2; shift 2
mpirun=("$@")
rm -rf "$dir"; mkdir -p "$dir"
common=(--device cpu --seq-len 256 512 --heads 2 --head-dim 32 --mask none causal --iters 3 --output "$dir/r.h5")
"${mpirun[@]}" -np 2 "$ringbench" run "${common[@]}" --layout contiguous zigzag --check --trace "$dir/t.json"
"${mpirun[@]}" -np 4 "$ringbench" run "${common[@]}" --layout zigzag
echo "report_fixture: wrote $dir/r.h5 and $dir/t.json"
