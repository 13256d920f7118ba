#!/usr/bin/env bash
# stalled_rank.sh RINGBENCH MPIEXEC...: a CPU rank stopped with SIGSTOP in the middle of a ring
# must bring the job down within --timeout plus a few seconds, with a message naming the rank
# that did not answer. STALL_HEADS, STALL_ARGS: heads and more run options (a scheme: its waits
# are bounded too); STALL_SEED tells concurrent runs of this test apart.
set -uo pipefail
ringbench=$1; shift
mpirun=("$@")
timeout_s=4
seed=${STALL_SEED:-777}${timeout_s}  # tells this job's processes apart
work=$(mktemp -d)
log=$work/run.log
job=""
cleanup() {
  [ -n "$job" ] && kill -9 "$job" 2>/dev/null
  pkill -9 -f "ringbench run .*--seed ${seed}" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; echo "---- log ----"; cat "$log"; exit 1; }

# Long enough that the stop lands mid-run: many iterations of a small ring.
"${mpirun[@]}" -np 3 "$ringbench" run --device cpu --seq-len 3072 --heads "${STALL_HEADS:-2}" --head-dim 64 \
  --iters 100000 --timeout "$timeout_s" --seed "${seed}" ${STALL_ARGS:-} --output none >"$log" 2>&1 &
job=$!

# The pid of ring rank 1, from the rank number Open MPI puts in each process's environment.
rank1=""
for _ in $(seq 1 300); do
  for pid in $(pgrep -f "ringbench run .*--seed ${seed}"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
      rank1=$pid
    fi
  done
  [ -n "$rank1" ] && grep -q "seq " "$log" && break
  sleep 0.1
done
[ -n "$rank1" ] || fail "rank 1 never started"
sleep 1  # into the iterations
kill -STOP "$rank1"
stopped=$SECONDS

waited=0
while kill -0 "$job" 2>/dev/null; do
  waited=$((SECONDS - stopped))
  [ "$waited" -le $((timeout_s + 20)) ] || fail "still running ${waited}s after rank 1 was stopped"
  sleep 0.2
done
wait "$job"; rc=$?
waited=$((SECONDS - stopped))
kill -CONT "$rank1" 2>/dev/null
cat "$log"
[ "$rc" != 0 ] || fail "exit code 0 after a stalled rank"
grep -qE "rank 1( did not answer|[^0-9].*did not take)|no K/V block from rank 1|nothing from rank 1" "$log" ||
  fail "no message names rank 1"
echo "stalled_rank: job ended ${waited}s after rank 1 was stopped (--timeout ${timeout_s}), exit $rc"
