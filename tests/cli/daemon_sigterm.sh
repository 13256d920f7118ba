#!/usr/bin/env bash
# SIGTERM to every rank mid-job (as Slurm sends at the time limit): the daemon finishes the case
# it is in, exits 0, and the job is back in pending/. A new daemon resumes it after the cases the
# results file already holds: every case ends up in the file exactly once.
source "$(dirname "$0")/daemon_lib.sh"

start_slow_job
wait_for 90 "the job's second case" log_has "job $job: case 2/6"
kill -TERM $(rank_pids)
wait_daemon 90; rc=$daemon_rc
[ "$rc" = 0 ] || fail "daemon exit code $rc after SIGTERM"
log_has "job $job: interrupted after [1-5] of 6" || fail "no interruption in the log"
log_has "daemon stopped: signal SIGTERM" || fail "no clean stop in the log"
[ -f "$spool/pending/$job" ] || fail "the job is not back in pending/"
[ "$(jobs_in running)" = 0 ] || fail "a job is left in running/"
out=$("$ringbench" status --spool "$spool")
grep -q "stopped .*SIGTERM" <<<"$out" || fail "status does not show the stop: $out"

start_daemon 4 --idle-exit 0.05
wait_daemon 120; rc=$daemon_rc
[ "$rc" = 0 ] || fail "second daemon exit code $rc"
[ -f "$spool/done/$job" ] || fail "the resumed job is not in done/"
log_has "job $job: 6 case\(s\), resumed after [1-5] done earlier" || fail "the job was not resumed"
grep -q "(earlier attempt)" "$spool/done/$job" || fail "done file does not mark the earlier cases"
runs=$(sed -n 's/^# runs = //p' "$spool/done/$job")
[ "$(wc -w <<<"$runs")" = 6 ] || fail "done file lists runs '$runs', wanted 6"
if have_h5dump; then
  n=$(runs_of_job "$spool/results.h5" "$job" | wc -l)
  [ "$n" = 6 ] || fail "the results file holds $n runs of the job, wanted 6 (each case once)"
fi
echo "daemon_sigterm: ok"
