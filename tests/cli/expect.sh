#!/usr/bin/env bash
# expect.sh EXIT_CODE REGEX [--count N] -- COMMAND...
# Runs COMMAND (bounded by a timeout, so a hang fails the test), then requires its exit code and
# that REGEX matches its combined output (exactly N matching lines with --count).
set -u
want_rc=$1 regex=$2; shift 2
count=""
if [ "$1" = "--count" ]; then count=$2; shift 2; fi
[ "$1" = "--" ] && shift
out=$(timeout 120 "$@" 2>&1); rc=$?
echo "$out"
if [ "$rc" = 124 ]; then echo "expect.sh: command hung (timeout)"; exit 1; fi
if [ "$want_rc" = "nonzero" ]; then
  [ "$rc" != 0 ] || { echo "expect.sh: exit code 0, wanted non-zero"; exit 1; }
elif [ "$rc" != "$want_rc" ]; then
  echo "expect.sh: exit code $rc, wanted $want_rc"; exit 1
fi
matches=$(grep -cE -- "$regex" <<<"$out")
if [ -n "$count" ]; then
  [ "$matches" = "$count" ] || { echo "expect.sh: '$regex' matched $matches lines, wanted $count"; exit 1; }
else
  [ "$matches" -gt 0 ] || { echo "expect.sh: no line matches '$regex'"; exit 1; }
fi
