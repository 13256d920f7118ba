#!/usr/bin/env bash
# SIGKILL to every rank mid-job (a node failure, or the end of an allocation): the job stays in
# running/ and the results file stays readable. A restarted daemon puts the job back, runs it
# again from the first unfinished case, and it completes once.
source "$(dirname "$0")/daemon_lib.sh"

start_slow_job
wait_for 90 "the job's third case" log_has "job $job: case 3/6"
kill -KILL $(rank_pids)
wait_daemon 60; rc=$daemon_rc
[ "$rc" != 0 ] || fail "mpirun exited 0 after its ranks were killed"
[ -f "$spool/running/$job" ] || fail "the killed job is not in running/"
if have_h5dump; then
  h5dump -H "$spool/results.h5" >/dev/null || fail "results file unreadable after the kill"
  before=$(runs_of_job "$spool/results.h5" "$job" | wc -l)
  [ "$before" -ge 2 ] && [ "$before" -lt 6 ] || fail "$before runs of the job before the kill, wanted 2..5"
fi

start_daemon 4 --idle-exit 0.05
# the status file can say idle before the recovery line reaches the log: wait for the line
wait_for 30 "the killed job's recovery" \
  log_has "recovered $job: left in running/ by a daemon that stopped; back in pending/"
wait_daemon 120; rc=$daemon_rc
[ "$rc" = 0 ] || fail "restarted daemon exit code $rc"
[ -f "$spool/done/$job" ] || fail "the job did not complete"
[ "$(jobs_in running)$(jobs_in pending)$(jobs_in failed)" = 000 ] || fail "the job is also elsewhere"
[ "$(grep -c "^# job $job: done" "$log")" = 1 ] || fail "the job completed more than once"
if have_h5dump; then
  n=$(runs_of_job "$spool/results.h5" "$job" | wc -l)
  [ "$n" = 6 ] || fail "the results file holds $n runs of the job, wanted 6"
fi
echo "daemon_sigkill: ok"
