#!/usr/bin/env bash
# slurm_failures.sh RINGBENCH CLUSTER
# Failing jobs of slurm/one-node.sbatch (4 CPU ranks) end FAILED, say why in their output, and
# leave no rank behind:
#   1. a bad configuration: every rank refuses it, rank 0 says so once, exit code 2;
#   2. a fault on rank 1 (RINGBENCH_INJECT_FAULT=1): it names itself and aborts the job;
#   3. rank 1 killed (SIGKILL, as a crash would) mid-run: srun --kill-on-bad-exit=1 ends the others,
#      which would otherwise wait for it.
source "$(dirname "$0")/slurm_lib.sh" "$@"
export RINGBENCH=$ringbench RINGBENCH_DEVICE=cpu RINGBENCH_OUTPUT=none
script=$source_dir/slurm/one-node.sbatch

# A job's ranks still running on the node (scontrol listpids: PID JOBID STEPID LOCALID GLOBALID).
task_pid() { timeout 10 scontrol listpids "$1" 2>/dev/null | awk -v t="$2" '$3 == "0" && $5 == t { print $1 }'; }
tasks_of() { timeout 10 scontrol listpids "$1" 2>/dev/null | awk '$3 == "0"' | wc -l; }

# 1. Bad configuration.
bad=$(sbatch_job "$script" --heads 6 --kv-heads 4)
# 2. A fault on one rank (the others would go on with a long run).
fault=$(RINGBENCH_INJECT_FAULT=1 sbatch_job "$script" --seq-len 1024 --iters 100000)

state=$(wait_job "$bad" 60)
[ "$state" = FAILED ] || fail "bad-config job $bad ended $state, wanted FAILED"
[ "$(job_field "$bad" ExitCode)" = 2:0 ] || fail "bad-config job exit code $(job_field "$bad" ExitCode), wanted 2:0"
n=$(grep -c "invalid value for 'kv-heads': '4'" "ringbench-$bad.out" || true)
[ "$n" = 1 ] || fail "the bad-config message appears $n times in ringbench-$bad.out, wanted once"

state=$(wait_job "$fault" 90)
[ "$state" = FAILED ] || fail "fault job $fault ended $state, wanted FAILED"
grep -q "rank 1 ($host): error: injected fault" "ringbench-$fault.out" ||
  fail "no 'rank 1 ($host): error: injected fault' in ringbench-$fault.out"
[ "$(tasks_of "$fault")" = 0 ] || fail "ranks of job $fault are still running"

# 3. A rank killed mid-run, once all four ranks are up and computing (each has used 2 s of CPU:
# well past MPI's start; the output file is block-buffered, so it cannot tell).
killed=$(sbatch_job "$script" --seq-len 1024 --iters 100000)
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) / hz) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
running() {
  [ "$(tasks_of "$killed")" = 4 ] || return 1
  local t
  for t in 0 1 2 3; do [ "$(cpu_seconds "$(task_pid "$killed" $t)")" -ge 2 ] || return 1; done
}
wait_for 90 "job $killed's four ranks to compute" running
pid=$(task_pid "$killed" 1)
[ -n "$pid" ] || fail "no pid for task 1 of job $killed"
kill -KILL "$pid"
killed_at=$SECONDS
state=$(wait_job "$killed" 60)
took=$((SECONDS - killed_at))
[ "$state" = FAILED ] || fail "job $killed ended $state after its rank 1 was killed, wanted FAILED"
out=ringbench-$killed.out
grep -q "task 1: Killed" "$out" || fail "srun does not report task 1 killed in $out"
# srun's --kill-on-bad-exit at work: it terminates the step when a task exits badly.
grep -q "Terminating StepId=$killed.0" "$out" || fail "srun did not terminate step $killed.0 (--kill-on-bad-exit)"
[ "$(tasks_of "$killed")" = 0 ] || fail "ranks of job $killed are still running"
echo "slurm_failures: bad config FAILED (exit 2, one message); injected fault FAILED;" \
     "killed rank: job FAILED ${took} s later, other ranks ended"
