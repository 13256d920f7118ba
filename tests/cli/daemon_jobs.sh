#!/usr/bin/env bash
# A 4-rank daemon gets good and bad jobs: the good ones end in done/ with their run ids, which
# the results file holds (one is a scaling series over sub-rings of 1, 2 and 4 ranks, queued with
# a higher priority, so it runs first); an invalid job is refused by submit at once, and bad
# files dropped straight into pending/ (unknown key, invalid value, a case that does not fit, a
# symbolic link) end in failed/ with the reason while the daemon goes on; then it exits on its
# own (--idle-exit).
source "$(dirname "$0")/daemon_lib.sh"

cat >"$work/good.ini" <<'JOB'
# two small checked cases
device = cpu
seq-len = 512 1024
heads = 2
head-dim = 32
iters = 2
check = true
JOB
printf 'device = cpu\nseq-len = 512\nheads = 2\nhead-dim = 32\niters = 2\nranks = 1 2 4\n' >"$work/scaling.ini"
# Queued before the daemon starts (validated for --world 4), so the priority decides the order.
mkdir -p "$spool"/{pending,running,done,failed}
good=$(submit --world 4 "$work/good.ini") || fail "submit refused a good job"
scaling=$(submit --world 4 --priority 5 "$work/scaling.ini") || fail "submit refused a scaling job"

start_daemon 4 --idle-exit 0.1
printf 'device = cpu\nseq-len = 256\nheads = 2\nhead-dim = 32\niters = 1\n' >"$work/late.ini"
late=$(submit "$work/late.ini") || fail "submit to the running daemon refused a good job"
printf 'seq-len = 1001\nlayout = zigzag\n' >"$work/bad.ini"
out=$(submit "$work/bad.ini" 2>&1) && fail "submit accepted an invalid job: $out"
grep -q "invalid value for 'seq-len': '1001'" <<<"$out" || fail "submit's refusal does not name the key: $out"
printf 'output = /etc/passwd\n' >"$work/evil.ini"
out=$(submit "$work/evil.ini" 2>&1) && fail "submit accepted a job naming a file: $out"
grep -q "invalid value for 'output'" <<<"$out" || fail "submit's refusal of a file key: $out"
cp "$work/evil.ini" "$spool/pending/direct-evil.ini"
printf 'device = cpu\nseq-len = 1001\nlayout = zigzag\n' >"$spool/pending/direct-invalid.ini"
printf 'device = cpu\nseq-len = 1G\nheads = 64\nhead-dim = 256\n' >"$spool/pending/direct-huge.ini"
ln -s /etc/passwd "$spool/pending/direct-link.ini"

wait_daemon 120; rc=$daemon_rc
[ "$rc" = 0 ] || fail "daemon exit code $rc"
log_has 'daemon stopped: idle for 0.1 min' || fail "no idle exit in the log"
[ "$(jobs_in done)" = 3 ] || fail "done/ holds $(jobs_in done) jobs, wanted 3"
[ "$(jobs_in failed)" = 4 ] || fail "failed/ holds $(jobs_in failed) jobs, wanted 4"
[ "$(jobs_in pending)$(jobs_in running)" = 00 ] || fail "jobs left in pending/ or running/"
[ -f "$spool/done/$good" ] && [ -f "$spool/done/$late" ] || fail "a good job is not in done/"
grep -q "'output'" "$spool/failed/direct-evil.ini" || fail "no reason for the evil job"
grep -q "multiple of 8" "$spool/failed/direct-invalid.ini" || fail "no reason for the invalid job"
grep -q "fits in host memory" "$spool/failed/direct-huge.ini" || fail "no reason for the job that does not fit"
grep -q "regular file" "$spool/failed/direct-link.ini" || fail "no reason for the link"
grep -q "root:" "$spool/failed/direct-link.ini" && fail "the link's target leaked into failed/"
runs=$(sed -n 's/^# runs = //p' "$spool/done/$good")
[ "$(wc -w <<<"$runs")" = 2 ] || fail "done file lists runs '$runs', wanted 2"
grep -q "check passed" "$spool/done/$good" || fail "no check verdict in the done file"
grep -qE "^# scaling seq-len=512 .*; strong 2:[0-9.]+ 4:[0-9.]+; weak 2:[0-9.]+ 4:[0-9.]+" "$spool/done/$scaling" ||
  fail "no scaling efficiencies in the scaling job's report"
[ "$(grep -n "job $scaling: 5 case" "$log" | cut -d: -f1)" -lt "$(grep -n "job $good: 2 case" "$log" | cut -d: -f1)" ] ||
  fail "the higher-priority job did not run first"

status=$("$ringbench" status --spool "$spool")
echo "$status"
grep -q "daemon: stopped .*idle" <<<"$status" || fail "status does not show the idle stop"
grep -q "done (3)" <<<"$status" || fail "status does not list the done job"
grep -q "failed (4)" <<<"$status" || fail "status does not list the failed jobs"

if have_h5dump; then
  in_file=$(runs_of_job "$spool/results.h5" "$good" | tr '\n' ' ')
  [ "$in_file" = "$runs " ] || fail "results file holds runs '$in_file' of the job, done/ says '$runs'"
  h5dump -A "$spool/results.h5" >"$work/dump.txt" || fail "results file unreadable"
  [ "$(grep -c 'ATTRIBUTE "complete"' "$work/dump.txt")" = 9 ] || fail "not 9 complete runs (2 + 5 + 1 ok, 1 refused)"
  grep -q '"failed"' "$work/dump.txt" || fail "the refused case is not recorded as a failed run"
else
  echo "h5dump not installed (package hdf5-tools): results file contents not checked"
fi
echo "daemon_jobs: ok"
