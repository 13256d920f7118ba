#!/usr/bin/env bash
# input_report_out.sh RINGBENCH: `ringbench report FILE --out DIR` where DIR cannot be written ends
# in one message and exit 2, never a Python traceback: the command checks the folder before
# starting the helper (a path below a file), and the helper turns an OSError on writing into one
# line (/proc refuses new folders, even to root).
set -uo pipefail
ringbench=$1
here=$(cd "$(dirname "$0")" && pwd)
helper=$here/../../tools/report/ringbench_report.py
python3 -c 'import h5py, matplotlib, numpy' 2>/dev/null || { echo "SKIPPED: python3 lacks h5py or matplotlib"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$ringbench" run --device cpu --seq-len 64 --heads 2 --head-dim 32 --iters 1 --output "$dir/r.h5" >/dev/null || exit 1
touch "$dir/a-file"
failed=0

# one NAME REGEX -- COMMAND...: exit 2, exactly one line of output, matching REGEX, no traceback.
one() {
  local name=$1 regex=$2; shift 3
  local out rc
  out=$(timeout 120 "$@" 2>&1); rc=$?
  if [ "$rc" != 2 ] || [ "$(wc -l <<<"$out")" != 1 ] || ! grep -qE -- "$regex" <<<"$out"; then
    echo "FAILED $name: exit $rc, wanted 2 and one line matching '$regex':"; echo "$out" | tail -5
    failed=1
  else
    echo "ok $name: $out"
  fi
}

one below_a_file "^ringbench report: error: invalid value for 'out': '$dir/a-file/report' \(allowed: a folder that can be made \($dir/a-file is not a folder\)\)$" -- \
  "$ringbench" report "$dir/r.h5" --out "$dir/a-file/report"
# as root the folder check passes /proc and the helper refuses; as another user the check refuses
one proc_command "^ringbench report: error: invalid value for 'out': '/proc/ringbench-report' \(allowed: a folder (the report can be written to|this user may write) \(/proc" -- \
  "$ringbench" report "$dir/r.h5" --out /proc/ringbench-report
one proc_helper "^ringbench report: error: invalid value for 'out': '/proc/ringbench-report' \(allowed: a folder the report can be written to \(/proc/ringbench-report: .*\)\)$" -- \
  python3 "$helper" "$dir/r.h5" --out /proc/ringbench-report
[ "$failed" = 0 ] && echo "input_report_out: ok"
exit "$failed"
