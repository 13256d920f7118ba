#!/usr/bin/env bash
# `ringbench sweep --ranks 1,2,4` on 4 CPU ranks: strong and weak scaling series in one launch,
# each case on its sub-ring, efficiencies printed and stored; a case that does not fit is skipped
# with its reason (and recorded as a failed run) while the sweep goes on.
set -euo pipefail
ringbench=$1; shift
mpirun=("$@")
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
out=$(timeout 120 "${mpirun[@]}" -np 4 "$ringbench" sweep --device cpu --seq-len 512 256M --heads 2 --head-dim 32 \
      --ranks 1,2,4 --iters 2 --check --output "$dir/s.h5")
echo "$out"
fail() { echo "FAILED: $*"; exit 1; }
[ "$(grep -cE '^ +512 +[124] ' <<<"$out")" = 3 ] || fail "not three strong-scaling rows of 512 tokens on 1, 2, 4 ranks"
grep -qE '^ +1024 +2 ' <<<"$out" || fail "no weak-scaling row (1024 tokens on 2 ranks)"
grep -qE '^ +2048 +4 ' <<<"$out" || fail "no weak-scaling row (2048 tokens on 4 ranks)"
grep -qE '# scaling seq-len=512 .*; strong 2:[0-9.]+ 4:[0-9.]+; weak 2:[0-9.]+ 4:[0-9.]+' <<<"$out" || fail "no scaling summary"
[ "$(grep -c '^# skipped seq-len=' <<<"$out")" = 5 ] || fail "the 256M cases were not all skipped"
grep -q 'fits in host memory' <<<"$out" || fail "no reason for the skipped cases"
grep -q '^# case 1/10' <<<"$out" || fail "no progress lines in a log"
if ! command -v h5dump >/dev/null; then echo "h5dump not installed: results file not checked"; exit 0; fi
dump=$(h5dump -A "$dir/s.h5")
[ "$(grep -c 'ATTRIBUTE "complete"' <<<"$dump")" = 10 ] || fail "not 10 runs in the results file"
[ "$(grep -c 'ATTRIBUTE "scaling_efficiency"' <<<"$dump")" = 5 ] || fail "not 5 efficiencies stored (the 512-token series)"
grep -q '"weak"' <<<"$dump" || fail "no weak-scaling role stored"
echo "sweep_scaling: ok"
