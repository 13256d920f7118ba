#!/usr/bin/env bash
# report_compare.sh DIR RINGBENCH SCALE_TOOL: the regression check on synthetic slowdowns of the
# fixture's runs (every timing x1.3 and x1.1, summaries recomputed): 30 % slower fails with exit
# code 1 and names every case, 10 % passes with 0, and a case only one file holds is listed.
set -euo pipefail
dir=$1 ringbench=$2 scale=$3
work="$dir/compare"; rm -rf "$work"; mkdir -p "$work"
"$scale" "$dir/r.h5" "$work/slow30.h5" 1.3
"$scale" "$dir/r.h5" "$work/slow10.h5" 1.1
runs=$("$ringbench" export "$dir/r.h5" --format csv | tail -n +2 | wc -l)

expect_exit() {  # expect_exit CODE COMMAND...: runs COMMAND, prints its output, checks its exit code
  local want=$1; shift
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  echo "$out"
  [ "$rc" = "$want" ] || { echo "report_compare: exit code $rc, wanted $want: $*"; exit 1; }
}

expect_exit 1 "$ringbench" compare "$dir/r.h5" "$work/slow30.h5"
slower=$(grep -c " SLOWER " <<<"$out" || true)
[ "$slower" = "$runs" ] || { echo "report_compare: $slower SLOWER lines, wanted $runs"; exit 1; }
grep -q "ratio" <<<"$out" && grep -q "1.300" <<<"$out" || { echo "report_compare: no 1.300 ratio shown"; exit 1; }

expect_exit 0 "$ringbench" compare "$dir/r.h5" "$work/slow10.h5" --threshold 0.2
grep -q " SLOWER " <<<"$out" && { echo "report_compare: 10 % flagged as slower"; exit 1; }
grep -q "1.100" <<<"$out" || { echo "report_compare: no 1.100 ratio shown"; exit 1; }

# A tighter threshold catches the 10 % too.
expect_exit 1 "$ringbench" compare "$dir/r.h5" "$work/slow10.h5" --threshold 0.05

# Runs only one side holds are listed, not dropped: the base gains a case the new file lacks.
cp "$dir/r.h5" "$work/more.h5"
"$ringbench" run --device cpu --seq-len 128 --heads 2 --head-dim 32 --iters 2 --output "$work/more.h5" >/dev/null
expect_exit 0 "$ringbench" compare "$work/more.h5" "$work/slow10.h5"
grep -q "only in BASE: run .*seq 128" <<<"$out" || { echo "report_compare: unmatched case not listed"; exit 1; }
echo "report_compare: ok"
