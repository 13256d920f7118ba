#!/usr/bin/env bash
# backward_cli.sh RINGBENCH MPIRUN...: the backward pass as users run it. Two CPU ranks run every
# pass on the striped and zigzag layouts, checked; the table shows each pass's times and the
# gradients' error; the results file holds timing/forward, timing/backward, the per-pass summary
# and the gradient errors; export fills backward times for the runs that timed a backward.
set -euo pipefail
ringbench=$1; shift
mpirun=("$@")
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
out=$(timeout 120 "${mpirun[@]}" -np 2 "$ringbench" run --device cpu --seq-len 256 --heads 4 --kv-heads 2 \
      --head-dim 32 --mask causal --layout striped zigzag --pass fwd bwd fwdbwd --check --iters 2 \
      --output "$dir/r.h5")
echo "$out"
fail() { echo "backward_cli: $*"; exit 1; }
rows=$(grep -v '^#' <<<"$out" | grep -c . || true)
[ "$rows" = 6 ] || fail "$rows table rows, wanted 6 (2 layouts x 3 passes)"
# columns: ... pass(8) min med max fwd_ms(12) bwd_ms(13) ... grad_err(NF-1) rel_err(NF)
awk '!/^#/ && NF {
  if ($8 == "fwd"    && !($12 != "-" && $13 == "-" && $(NF-1) == "n/a")) bad = bad " " $0
  if ($8 == "bwd"    && !($12 == "-" && $13 != "-" && $(NF-1) + 0 < 1e-5)) bad = bad " " $0
  if ($8 == "fwdbwd" && !($12 != "-" && $13 != "-" && $(NF-1) + 0 < 1e-5)) bad = bad " " $0
} END { if (bad) { print "unexpected rows:" bad; exit 1 } }' <<<"$out" || fail "table columns"
grep -q "FAILED" <<<"$out" && fail "a check failed"

csv=$("$ringbench" export "$dir/r.h5" --format csv)
python3 - "$csv" <<'PY' || fail "export"
import csv, io, sys
rows = list(csv.DictReader(io.StringIO(sys.argv[1])))
assert len(rows) == 6, len(rows)
for r in rows:
    timed = {"fwd": (True, False), "bwd": (False, True), "fwdbwd": (True, True)}[r["pass"]]
    assert (r["forward_time_median"] != "") == timed[0], r
    assert (r["backward_time_median"] != "") == timed[1], r
    assert (r["check_dq_rel_err"] != "") == timed[1], r
    if timed == (True, True):
        assert float(r["total_time_median"]) >= float(r["backward_time_median"]), r
print("backward_cli: export ok")
PY

if ! command -v h5dump >/dev/null; then echo "SKIPPED: h5dump not installed (package hdf5-tools)"; exit 77; fi
dump=$(h5dump -H "$dir/r.h5")
for want in 'GROUP "backward"' 'GROUP "forward"' 'ATTRIBUTE "dq_rel_err"' 'ATTRIBUTE "dk_rel_err"' \
            'ATTRIBUTE "dv_rel_err"' 'ATTRIBUTE "bwd_median_ms"' 'ATTRIBUTE "bwd_tflops_per_rank"' \
            'ATTRIBUTE "fwd_median_ms"' 'ATTRIBUTE "pass"'; do
  grep -qF "$want" <<<"$dump" || fail "h5dump lacks $want"
done
# a fwdbwd run: [2 iterations, 2 ranks, 4 steps] overall, [2, 2, 2] per pass
grep -q 'DATASPACE  SIMPLE { ( 2, 2, 4 ) / ( 2, 2, 4 ) }' <<<"$dump" || fail "no fwdbwd timing of 4 steps"
h5dump -a /schema_version "$dir/r.h5" | grep -q '(0): 4' || fail "schema_version is not 4"
echo "backward_cli: ok"
