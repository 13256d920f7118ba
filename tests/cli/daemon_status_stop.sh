#!/usr/bin/env bash
# status of a running daemon (heartbeat, ranks, pending jobs), a second daemon on the same spool
# refused, and `ringbench stop` ending the daemon between jobs.
source "$(dirname "$0")/daemon_lib.sh"

out=$("$ringbench" status --spool "$work/nothing" 2>&1) && fail "status of a missing spool succeeded"
grep -q "invalid value for 'spool'" <<<"$out" || fail "status of a missing spool: $out"
start_daemon 2
status=$("$ringbench" status --spool "$spool")
echo "$status"
grep -qE "daemon: idle, pid [0-9]+, 2 rank\(s\) on .* \((cpu|cuda)\), heartbeat [0-9]+ s ago" <<<"$status" || fail "status line"
out=$(timeout 60 "${mpirun[@]}" -np 1 "$ringbench" daemon --spool "$spool" 2>&1) && fail "a second daemon started"
grep -q "no other daemon is serving" <<<"$out" || fail "second daemon's refusal: $out"

beat=$(status_value heartbeat_unix)
wait_for 15 "a new heartbeat" heartbeat_changed "$beat"

out=$("$ringbench" stop --spool "$spool")
grep -q "exits after its current job" <<<"$out" || fail "stop's answer: $out"
wait_daemon 30; rc=$daemon_rc
[ "$rc" = 0 ] || fail "daemon exit code $rc after stop"
log_has "daemon stopped: stop requested" || fail "no stop in the log"
[ -e "$spool/stop" ] && fail "the stop request was not consumed"
out=$("$ringbench" status --spool "$spool")
grep -q "daemon: stopped" <<<"$out" || fail "status after stop: $out"
echo "daemon_status_stop: ok"
