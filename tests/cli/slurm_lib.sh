# shellcheck shell=bash
# Sourced by the Slurm tests: usage `slurm_<test>.sh RINGBENCH CLUSTER [MPIEXEC...]`, CLUSTER being
# the link that tests/slurm/cluster.sh made to the running test cluster (the slurm_cluster_up test
# starts it, slurm_cluster_down stops it). Skips (exit 77), saying why, where the cluster could not
# start. Jobs are submitted from a fresh folder; every wait is bounded; on exit the test cancels
# the jobs it submitted, waits for them to go, and prints their output if it failed.
set -euo pipefail
ringbench=$(realpath "$1")
cluster=$2
shift 2
mpirun=("$@")
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [ -f "$cluster.skip" ]; then
  echo "SKIPPED: no Slurm test cluster: $(cat "$cluster.skip")"
  exit 77
fi
if [ ! -f "$cluster/slurm.conf" ]; then
  echo "FAILED: no Slurm test cluster at $cluster (the test slurm_cluster_up starts it)"
  exit 1
fi
# The real path: the cluster's teardown finds leftover job processes by it.
SLURM_CONF=$(realpath "$cluster")/slurm.conf
export SLURM_CONF
node=$(hostname -s)  # the node's name in Slurm (SLURM_JOB_NODELIST)
host=$(hostname)     # what ringbench stores and prints (gethostname)

work=$(mktemp -d /tmp/ringbench-slurm-test.XXXXXX)
cd "$work"
: >"$work/jobs"

fail() { echo "FAILED: $*"; exit 1; }

cleanup() {
  local rc=$? ids
  ids=$(tr '\n' ' ' <"$work/jobs")
  if [ -n "${ids// /}" ]; then
    # shellcheck disable=SC2086
    timeout 10 scancel $ids 2>/dev/null || true
    local end=$((SECONDS + 30))
    # shellcheck disable=SC2086
    while [ $SECONDS -lt $end ] && [ -n "$(timeout 5 squeue --noheader --jobs="${ids// /,}" 2>/dev/null)" ]; do
      sleep 0.5
    done
  fi
  if [ "$rc" != 0 ]; then
    for f in "$work"/*.out "$work"/*.log "$cluster"/log/slurmctld.log "$cluster"/log/slurmd.log; do
      [ -f "$f" ] && { echo "---- $f ----"; tail -n 40 "$f"; }
    done
  fi
  cd /
  rm -rf "$work"
}
trap cleanup EXIT

# sbatch_job SBATCH_ARGS...: submits, remembers the job for the clean-up, prints its id.
sbatch_job() {
  local id
  id=$(timeout 30 sbatch --parsable "$@") || fail "sbatch $* was refused"
  id=${id%%;*}
  echo "$id" >>"$work/jobs"
  echo "$id"
}

# job_field ID NAME: a field of `scontrol show job` (JobState, ExitCode, TRES, RunTime, ...).
job_field() {
  timeout 10 scontrol show job --oneliner "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# wait_job ID SECONDS: waits until the job has ended (at most SECONDS, else the test fails) and
# prints its final state.
wait_job() {
  local id=$1 end=$((SECONDS + $2)) state
  while :; do
    state=$(job_field "$id" JobState)
    case $state in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        echo "$state"; return 0 ;;
    esac
    [ $SECONDS -lt $end ] || fail "job $id still $state after $2 s"
    sleep 0.5
  done
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local seconds=$1 what=$2
  local end=$((SECONDS + seconds))
  shift 2
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "timed out after $seconds s waiting for $what"
    sleep 0.2
  done
}

# expect_runs FILE N KEY=VALUE...: FILE is a readable results file with N runs, each with every
# KEY (an export field; config.<key>, provenance.<key> for nested ones) equal to VALUE.
expect_runs() {
  local file=$1 n=$2
  shift 2
  "$ringbench" export "$file" --format json >"$work/export.json" ||
    fail "ringbench export cannot read $file"
  python3 - "$work/export.json" "$n" "$@" <<'PY' || fail "results file $file is not as expected"
import json, sys

runs = json.load(open(sys.argv[1]))
wanted = int(sys.argv[2])
problems = [] if len(runs) == wanted else [f"{len(runs)} runs, wanted {wanted}"]
for run in runs:
    for pair in sys.argv[3:]:
        key, want = pair.split("=", 1)
        value = run
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        text = value if isinstance(value, str) else json.dumps(value)
        if text != want:
            problems.append(f"run {run.get('run_id')}: {key} = {text}, wanted {want}")
for p in problems:
    print("results:", p)
sys.exit(1 if problems else 0)
PY
}
