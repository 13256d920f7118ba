#!/usr/bin/env bash
# report_schemes.sh RINGBENCH MPIEXEC: the ring and both gathering schemes on 1 and 2 CPU ranks into
# one file; the report gives each scheme its tables and draws time vs ranks per scheme.
set -euo pipefail
ringbench=$1 mpiexec=$2
if ! python3 -c "import h5py, matplotlib" 2>/dev/null; then
  echo "SKIPPED: python3 lacks h5py or matplotlib (tools/setup-deps.sh installs them)"; exit 77
fi
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "report_schemes: $*"; exit 1; }
for n in 1 2; do
  timeout 120 "$mpiexec" --oversubscribe -n "$n" "$ringbench" run --device cpu --seq-len 1K \
    --heads 2 --head-dim 32 --mask causal --layout zigzag --iters 2 \
    --scheme ring allgather allgather-pipelined --output "$dir/r.h5" >/dev/null
done
"$ringbench" report "$dir/r.h5" --out "$dir/report" >/dev/null
md=$dir/report/report.md
for scheme in allgather allgather-pipelined; do
  [ "$(grep -c "^### .* · scheme $scheme\$" "$md")" = 2 ] || fail "no table of $scheme at 1 and 2 ranks"
done
[ -s "$dir/report/scaling_efficiency.png" ] || fail "no time-vs-ranks plot"
python3 - "$dir/r.h5" <<'PY' || fail "scaling series"
import sys
sys.path.insert(0, "tools/report")
import results_model, plots
_, runs = results_model.load(sys.argv[1])
labels = [label for label, _ in plots.scaling_series(results_model.newest_per_case(runs))]
assert sorted(labels) == ["1K causal zigzag", "1K causal zigzag allgather",
                          "1K causal zigzag allgather-pipelined"], labels
PY
echo "report_schemes: ok"
