# Sourced by the daemon tests: usage `daemon_test.sh RINGBENCH MPIEXEC...`. Starts daemons in the
# background on a fresh spool, waits (always bounded) for log lines, files and exits, and cleans
# up whatever is left. The daemon's log is printed when a test fails.
set -euo pipefail
ringbench=$1; shift
mpirun=("$@")
work=$(mktemp -d)
spool=$work/spool
log=$work/daemon.log
daemon_pid=""

cleanup() {
  local rc=$?
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -9 $(rank_pids) 2>/dev/null || true
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ]; then echo "---- daemon log ----"; cat "$log" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAILED: $*"; exit 1; }

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local end=$((SECONDS + seconds))
  while [ $SECONDS -lt $end ]; do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  fail "timed out after ${seconds}s waiting for $what"
}

log_has() { grep -qE -- "$1" "$log" 2>/dev/null; }
status_value() { sed -n "s/^$1 = //p" "$spool/status" 2>/dev/null; }
rank_pids() { status_value pids; }
jobs_in() { find "$spool/$1" -maxdepth 1 -name '*.ini' 2>/dev/null | wc -l; }

starts_logged() { grep -c 'daemon: spool' "$log" 2>/dev/null || true; }
started_since() { [ "$(starts_logged)" -gt "$1" ]; }
state_is() { [ "$(status_value state)" = "$1" ]; }
heartbeat_changed() { [ "$(status_value heartbeat_unix)" != "$1" ]; }
daemon_gone() { ! kill -0 "$daemon_pid" 2>/dev/null; }

# start_daemon RANKS [daemon options]: returns once its status file shows the new daemon idle.
start_daemon() {
  local ranks=$1; shift
  local before; before=$(starts_logged)
  timeout 150 "${mpirun[@]}" -np "$ranks" "$ringbench" daemon --spool "$spool" --poll 0.1 "$@" >>"$log" 2>&1 &
  daemon_pid=$!
  wait_for 60 "the daemon to start" started_since "${before:-0}"
  wait_for 30 "the daemon's status file" state_is idle
}

# wait_daemon SECONDS: waits for the daemon to exit (at most SECONDS, else the test fails) and
# sets daemon_rc to its exit code.
wait_daemon() {
  local seconds=$1
  wait_for "$seconds" "the daemon to exit" daemon_gone
  daemon_rc=0
  wait "$daemon_pid" || daemon_rc=$?
  daemon_pid=""
}

submit() { "$ringbench" submit --spool "$spool" "$@"; }

# The ids of the runs in the results file that belong to job $1 (needs h5dump).
runs_of_job() {
  local results=$1 job=$2
  h5dump -A "$results" | awk -v job="$job" '
    /GROUP "[0-9]+"/ { match($0, /"[0-9]+"/); id = substr($0, RSTART + 1, RLENGTH - 2) }
    /ATTRIBUTE "daemon_job"/ { want = 1; next }
    want && /"/ { if (index($0, "\"" job "\"")) print id; want = 0 }'
}

have_h5dump() { command -v h5dump >/dev/null; }

# A 4-rank daemon busy with a six-case job long enough to be interrupted mid-way; sets $job.
start_slow_job() {
  cat >"$work/slow.ini" <<'JOB'
device = cpu
seq-len = 1024 2048 3072
mask = none causal
heads = 4
head-dim = 64
iters = 4
JOB
  mkdir -p "$spool"
  start_daemon 4
  job=$(submit "$work/slow.ini")
}
