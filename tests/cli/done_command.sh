#!/usr/bin/env bash
# The foundation's acceptance run: 4 CPU ranks, causal zigzag, checked, written to HDF5; then the
# file must show the documented groups, datasets and attributes.
set -euo pipefail
ringbench=$1; shift
mpirun=("$@")
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
out=$("${mpirun[@]}" -np 4 "$ringbench" run --device cpu --seq-len 4096 --heads 4 --head-dim 64 \
      --mask causal --layout zigzag --check --iters 2 --output "$dir/r.h5")
echo "$out"
err=$(awk '!/^#/ && NF {print $NF}' <<<"$out")
python3 -c "import sys; e=float('$err'); sys.exit(0 if e < 1e-5 else 1)" || { echo "rel_err $err not below 1e-5"; exit 1; }
if ! command -v h5dump >/dev/null; then echo "SKIPPED: h5dump not installed (package hdf5-tools)"; exit 77; fi
dump=$(h5dump -H "$dir/r.h5")
for want in 'GROUP "runs"' 'GROUP "000000"' 'GROUP "timing"' 'DATASET "compute_ms"' 'DATASET "comm_ms"' \
            'DATASET "wait_ms"' 'DATASET "total_ms"' 'DATASET "bytes_sent"' 'DATASET "ranks"' 'GROUP "summary"' \
            'GROUP "check"' 'ATTRIBUTE "schema_version"' 'ATTRIBUTE "tflops_per_rank"' 'ATTRIBUTE "created_utc"' \
            'ATTRIBUTE "seq-len"' 'ATTRIBUTE "rel_err"' 'ATTRIBUTE "complete"'; do
  grep -qF "$want" <<<"$dump" || { echo "h5dump lacks $want"; exit 1; }
done
grep -q 'DATASPACE  SIMPLE { ( 2, 4, 4 ) / ( 2, 4, 4 ) }' <<<"$dump" || { echo "timing is not [2 iterations, 4 ranks, 4 steps]"; exit 1; }
echo "done_command: ok"
