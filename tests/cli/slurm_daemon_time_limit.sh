#!/usr/bin/env bash
# slurm_daemon_time_limit.sh RINGBENCH CLUSTER
# slurm/daemon.sbatch, unchanged, for an allocation with a 2-minute time limit (Slurm's shortest is
# 1 minute; its own #SBATCH --signal=TERM@60 stays). Jobs are fed to it as a user would: a quick
# one that finishes, then a slow one that is still running when Slurm sends every rank SIGTERM
# 60 s before the limit (slurmctld looks every 30 s, so at 30-60 s into the job). The daemon must
# finish its case, put the slow job back into pending/ and exit 0 before the limit: the Slurm job
# ends COMPLETED, not TIMEOUT; the quick job is in done/; the results file is intact and holds
# every case of the quick job and exactly the slow job's cases that finished before the signal.
source "$(dirname "$0")/slurm_lib.sh" "$@"
export RINGBENCH=$ringbench
spool=$work/spool
mkdir -p "$spool"

cat >quick.ini <<'JOB'
device = cpu
seq-len = 512
mask = none causal
iters = 2
JOB
# 192 cases of at most a few seconds each, minutes in all: it cannot finish before the signal.
cat >slow.ini <<'JOB'
device = cpu
seq-len = 512 1024 1536 2048 2560 3072
heads = 1 2 3 4 5 6 7 8
mask = none causal
layout = contiguous zigzag
iters = 4
JOB

id=$(sbatch_job --time=2 --ntasks-per-node=4 "$source_dir/slurm/daemon.sbatch" "$spool" --poll 0.1)
out=$work/ringbench-daemon-$id.out
status_value() { sed -n "s/^$1 = //p" "$spool/status" 2>/dev/null; }
state_is() { [ "$(status_value state)" = "$1" ]; }
log_has() { grep -qE -- "$1" "$out" 2>/dev/null; }
wait_for 60 "the daemon of job $id to start" state_is idle
[ "$(status_value ranks)" = 4 ] || fail "the daemon has $(status_value ranks) ranks, wanted 4"

quick=$("$ringbench" submit --spool "$spool" quick.ini)
wait_for 60 "job $quick to finish" test -f "$spool/done/$quick"
slow=$("$ringbench" submit --spool "$spool" slow.ini)
wait_for 30 "job $slow's second case" log_has "job $slow: case 2/"
started=$(date -d "$(job_field "$id" StartTime)" +%s)
echo "slow job running $(($(date +%s) - started)) s into the allocation"

state=$(wait_job "$id" 150)
[ "$state" = COMPLETED ] || fail "Slurm job $id ended $state, wanted COMPLETED (the daemon exits 0 before the limit)"
ended=$(date -d "$(job_field "$id" EndTime)" +%s)
log_has "daemon stopped: signal SIGTERM" || fail "the daemon did not stop on SIGTERM"
log_has "job $slow: interrupted after [0-9]+ of [0-9]+ case\(s\); back in pending/" ||
  fail "job $slow was not interrupted and put back"
finished=$(sed -n "s/^# job $slow: interrupted after \([0-9]*\) of .*/\1/p" "$out")
[ -f "$spool/pending/$slow" ] || fail "job $slow is not back in pending/"
[ -z "$(ls "$spool/running")" ] || fail "left in running/: $(ls "$spool/running")"
[ -f "$spool/done/$quick" ] || fail "job $quick is not in done/"

# The results file: readable as a whole, every run complete and from this allocation's srun step.
results=$spool/results.h5
expect_runs "$results" $((2 + finished)) status=ok world_size=4 provenance.slurm_job_id="$id" \
  provenance.launcher=srun provenance.slurm_step="$id.0"
python3 - "$work/export.json" "$quick" "$slow" "$finished" <<'PY' || fail "runs of the jobs are not as expected"
import collections, json, sys

runs = json.load(open(sys.argv[1]))
quick, slow, finished = sys.argv[2], sys.argv[3], int(sys.argv[4])
cases = collections.defaultdict(list)
for run in runs:
    cases[run["provenance"].get("daemon_job")].append(int(run["provenance"]["sweep_case"]))
if sorted(cases[quick]) != [0, 1]:
    sys.exit(f"quick job's cases in the file: {sorted(cases[quick])}, wanted [0, 1]")
if sorted(cases[slow]) != list(range(finished)):
    sys.exit(f"slow job's cases in the file: {sorted(cases[slow])}, wanted 0..{finished - 1}")
PY
echo "slurm_daemon_time_limit: SIGTERM at the time limit -> job $slow back in pending/ after" \
     "$finished case(s), $quick done, results intact; Slurm job $id COMPLETED after $((ended - started)) s"
