#!/usr/bin/env bash
# `ringbench calibrate` then `ringbench plan` on CPU ranks: calibrations on 1 and on 2 ranks,
# runs on real and virtual rings, `plan --validate` puts each run beside its prediction (memory
# exactly the run's plan; time within --max-error, loose as the CI machine's 2 cores are shared),
# and the plan table over ring sizes.
set -euo pipefail
ringbench=$1; shift
mpirun=("$@")
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
shape=(--device cpu --heads 2 --head-dim 32 --iters 5)

timeout 300 "$ringbench" calibrate "${shape[@]}" --mask causal --block-sizes 256 512 1K \
  --output "$dir/cal1.h5" | tee "$dir/cal1.log"
timeout 300 "${mpirun[@]}" -np 2 "$ringbench" calibrate "${shape[@]}" --mask causal --pass fwdbwd \
  --block-sizes 256 512 1K --output "$dir/cal2.h5" | tee "$dir/cal2.log"
grep -qE 'link host-copy .* GB/s' "$dir/cal1.log" || fail "no host-copy link measured on one rank"
grep -qE 'link mpi .* GB/s' "$dir/cal2.log" || fail "no MPI link measured on two ranks"
[ ! -e "$dir/cal1.h5.tmp" ] || fail "a temporary calibration file was left behind"

timeout 300 "${mpirun[@]}" -np 2 "$ringbench" run "${shape[@]}" --seq-len 2K --mask none causal \
  --layout zigzag --output "$dir/runs.h5" >/dev/null
timeout 300 "$ringbench" run "${shape[@]}" --seq-len 2K --mask none causal --virtual-ranks 4 \
  --output "$dir/runs.h5" >/dev/null
# the other schemes: the gathers (every block kept, the plain gather first) and ulysses
timeout 300 "${mpirun[@]}" -np 2 "$ringbench" run "${shape[@]}" --seq-len 2K --mask causal \
  --layout zigzag --scheme allgather allgather-pipelined ulysses --output "$dir/runs.h5" >/dev/null
# ulysses' backward too (its all-to-alls of dO and of dQ, dK, dV; the backward curve of cal2)
timeout 300 "${mpirun[@]}" -np 2 "$ringbench" run "${shape[@]}" --seq-len 2K --mask causal \
  --layout zigzag --scheme ulysses --pass fwdbwd --output "$dir/runs.h5" >/dev/null
# the hybrid: Ulysses in groups of 2 virtual ranks, the ring across the 2 groups
timeout 300 "$ringbench" run "${shape[@]}" --seq-len 2K --mask causal --layout zigzag \
  --virtual-ranks 4 --scheme hybrid:2x2 --output "$dir/runs.h5" >/dev/null

out=$("$ringbench" plan --calibration "$dir/cal1.h5" "$dir/cal2.h5" --validate "$dir/runs.h5" \
      --max-error 1.5) || { echo "$out"; fail "plan --validate found a run off by more than 150 % or a memory plan differing"; }
echo "$out"
[ "$(grep -c ' exact$' <<<"$out")" = 9 ] || fail "not 9 runs with the memory exactly as planned"
grep -qE '^# 9 runs predicted: median \|error\| [0-9.]+ %, largest [0-9.]+ %' <<<"$out" || fail "no error summary"

table=$("$ringbench" plan --calibration "$dir/cal2.h5" "${shape[@]}" --seq-len 64K --mask causal \
        --layout zigzag --gpus 1,2,4,3 --gpus-per-node 2 --csv "$dir/plan.csv")
echo "$table"
[ "$(grep -cE '^ +[124] +[12] +[0-9]+ ' <<<"$table")" = 3 ] || fail "not three rows for 1, 2 and 4 ranks"
grep -q '(not a ring of 3:' <<<"$table" || fail "the ring of 3 (64K not divisible by 6) was not refused in its row"
grep -q 'between nodes mpi (assumed' <<<"$table" || fail "the assumed link between hosts is not said"
[ "$(wc -l < "$dir/plan.csv")" = 4 ] || fail "the CSV does not hold a header and three rows"
if python3 -c 'import matplotlib' 2>/dev/null; then
  "$ringbench" plan --calibration "$dir/cal2.h5" "${shape[@]}" --seq-len 16K 64K --mask causal \
    --layout zigzag --gpus 1,2,4 --plot "$dir/plan.png" >/dev/null || fail "plan --plot failed"
  [ "$(head -c 4 "$dir/plan.png" | tail -c 3)" = PNG ] || fail "no PNG drawn"
  [ "$(wc -l < "$dir/plan.png.csv")" = 7 ] || fail "the plot's CSV does not hold 6 rows"
else
  echo "matplotlib not installed: plan --plot not checked"
fi
echo "plan_validate: ok"
