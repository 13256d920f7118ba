#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd with
# all their state, sockets, logs and the slurm.conf in one temporary folder.
#
#   cluster.sh up LINK     start it; LINK (a path in the build tree) becomes a symbolic link to
#                          the folder, so tests find LINK/slurm.conf (export SLURM_CONF=...)
#   cluster.sh down LINK   cancel its jobs, stop the daemons by their pid files, remove the folder
#
# `up` exits 77 (ctest: skipped), saying why, only where Slurm cannot run: not root (slurmd must
# start jobs as their submitter) or the packages are missing (tools/setup-deps.sh installs them).
# It then writes LINK.skip with the reason, so the tests that use the cluster skip too. A failed
# start stops whatever it had started. Every wait is bounded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin  # where Debian puts munged, slurmctld and slurmd
command=${1:?usage: cluster.sh up|down LINK}
link=${2:?usage: cluster.sh up|down LINK}
link=$(realpath -ms "$link")  # the link itself, not where it points

log() { echo "slurm-cluster: $*"; }
alive() { kill -0 "$1" 2>/dev/null; }

# The folder's own processes: the daemons (by pid file) and whatever Slurm started for it
# (slurmstepd and job processes, found by this cluster's folder in their environment: slurmd is
# started with SLURM_CONF set, and sbatch and srun pass the submitter's on). Nothing else is
# touched; this script never exports SLURM_CONF itself, so its own processes do not match.
cluster_pids() {
  local dir=$1 pid f
  for f in "$dir"/run/*.pid; do
    [ -s "$f" ] && pid=$(cat "$f") && alive "$pid" && echo "$pid"
  done
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    grep -qzxF "SLURM_CONF=$dir/slurm.conf" "/proc/$pid/environ" 2>/dev/null && echo "$pid"
  done
  return 0
}

# SIGTERM, up to 10 s to go, then SIGKILL: for the given pids.
stop_pids() {
  local pids=("$@") pid deadline
  [ ${#pids[@]} -eq 0 ] && return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    local left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=1; done
    [ $left -eq 0 ] && return 0
    sleep 0.2
  done
  for pid in "${pids[@]}"; do alive "$pid" && { log "killing $pid"; kill -KILL "$pid" 2>/dev/null || true; }; done
  return 0
}

down() {
  local dir=$1
  [ -d "$dir" ] || return 0
  case $dir in /tmp/ringbench-slurm.*) ;; *) log "$dir is not a cluster folder; left alone" >&2; return 1 ;; esac
  local conf=$dir/slurm.conf
  # Cancel the jobs first, so slurmd ends their steps; then the daemons, then any straggler.
  if [ -s "$dir/run/slurmctld.pid" ] && alive "$(cat "$dir/run/slurmctld.pid")"; then
    SLURM_CONF=$conf timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ] &&
          [ -n "$(SLURM_CONF=$conf timeout 5 squeue --noheader --format=%i 2>/dev/null)" ]; do
      sleep 0.5
    done
  fi
  # Both Slurm daemons at once (each takes a second or two), then munged, which they talk to.
  local f daemons=()
  for f in slurmd slurmctld; do [ -s "$dir/run/$f.pid" ] && daemons+=("$(cat "$dir/run/$f.pid")"); done
  stop_pids "${daemons[@]}"
  [ -s "$dir/run/munged.pid" ] && stop_pids "$(cat "$dir/run/munged.pid")"
  cluster_pids "$dir" >"$dir/leftover.pids"
  mapfile -t rest <"$dir/leftover.pids"
  [ ${#rest[@]} -eq 0 ] || log "stopping leftover processes ${rest[*]}"
  stop_pids "${rest[@]}"
  rm -rf "$dir"
}

if [ "$command" = down ]; then
  if [ -L "$link" ]; then
    dir=$(readlink "$link")
    down "$dir"
    log "stopped; removed $dir"
  fi
  rm -f "$link" "$link.skip"
  exit 0
fi
[ "$command" = up ] || { echo "usage: cluster.sh up|down LINK" >&2; exit 2; }

skipping=0
skip() {
  echo "SKIPPED: no Slurm test cluster: $*"
  mkdir -p "$(dirname "$link")"
  echo "$*" >"$link.skip"
  skipping=1
  exit 77
}

# A cluster left over by an interrupted run goes first.
if [ -L "$link" ]; then "$0" down "$link"; fi
rm -f "$link.skip"

[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs (running as $(id -un))"
missing=()
for tool in munged mungekey slurmctld slurmd sbatch srun squeue scontrol scancel runuser python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] ||
  skip "missing ${missing[*]} (as root, tools/setup-deps.sh installs slurm-wlm munge)"
getent passwd munge >/dev/null || skip "no 'munge' account (the munge package makes it)"

# Sockets have a 108-byte path limit, so the folder is short and in /tmp, not in the build tree.
dir=$(mktemp -d /tmp/ringbench-slurm.XXXXXX)
chmod 755 "$dir"  # munged runs as munge and must reach its own subfolder
started_ok=0
# Whatever happens before the end of `up` (an error, a skip, ctest's timeout), nothing is left
# running and the folder goes.
on_exit() {
  [ $started_ok -eq 1 ] && return 0
  if [ $skipping -eq 0 ]; then
    log "start failed; the logs end with:"
    tail -n 20 "$dir"/log/*.log "$dir"/munge/munged.log 2>/dev/null || true
  fi
  down "$dir" || true
  rm -f "$link"
}
trap on_exit EXIT
trap 'exit 143' TERM INT
mkdir -p "$(dirname "$link")"
ln -sfn "$dir" "$link"
mkdir -p "$dir"/{state,slurmd,run,log,munge}

# Two free TCP ports on the loopback (asked from the kernel, then released).
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
host=$(hostname -s)
cpus=64 gpus=8  # what the slurm/ scripts ask for on one node: 8 tasks x 8 CPUs, 8 GPUs
sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@CTLD_PORT@|$ctld_port|g" \
    -e "s|@SLURMD_PORT@|$slurmd_port|g" -e "s|@CPUS@|$cpus|g" -e "s|@GPUS@|$gpus|g" -e "s|@KILL_WAIT@|10|g" \
    "$here/slurm.conf.in" >"$dir/slurm.conf"
conf=$dir/slurm.conf
# Slurm's PMIx plugin (srun --mpi=pmix) is what starts Open MPI ranks; Debian's slurm-wlm has it.
mpis=$(SLURM_CONF=$conf timeout 10 srun --mpi=list 2>&1 || true)
grep -q pmix <<<"$mpis" || skip "Slurm has no PMIx plugin (srun --mpi=list: $(tr -s '\n\t ' ' ' <<<"$mpis"))"
# Slurm keeps only GPUs with a device file: copies of /dev/null (character device 1:3) stand in for
# /dev/nvidia0..7. Nothing opens them (no cgroup device rules with these plugins).
mkdir -p "$dir/dev"
# (Where mknod is not allowed, plain files also work; slurmd then logs an error for each.)
for ((i = 0; i < gpus; i++)); do mknod "$dir/dev/gpu$i" c 1 3 2>/dev/null || touch "$dir/dev/gpu$i"; done
echo "NodeName=$host Name=gpu File=$dir/dev/gpu[0-$((gpus - 1))]" >"$dir/gres.conf"

# munged as the munge account, with a fresh key; it insists on owning its folder and key.
chown munge: "$dir/munge"
chmod 755 "$dir/munge"  # its socket must be reachable by everyone
mungekey --create --keyfile="$dir/munge/munge.key" --bits=1024
chown munge: "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
runuser -u munge -- munged --key-file="$dir/munge/munge.key" \
  --socket="$dir/munge/munge.socket.2" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
cp "$dir/munge/munged.pid" "$dir/run/munged.pid"
timeout 10 munge --socket="$dir/munge/munge.socket.2" --no-input | timeout 10 unmunge \
  --socket="$dir/munge/munge.socket.2" >/dev/null ||
  { cat "$dir/munge/munged.log" >&2; log "munged does not answer" >&2; exit 1; }

# Both daemonise and write their pid files (run/). slurmd's environment (SLURM_CONF) is passed
# on to the slurmstepd processes it starts, which is how `down` finds any left behind.
SLURM_CONF=$conf slurmctld -f "$conf"
SLURM_CONF=$conf slurmd -f "$conf"

# Up when the node is idle and a two-task step wired up by PMIx runs.
deadline=$((SECONDS + 30))
until [ "$(SLURM_CONF=$conf timeout 5 sinfo --noheader --format=%t 2>/dev/null || true)" = idle ]; do
  [ $SECONDS -lt $deadline ] ||
    { log "node not idle after 30 s: $(SLURM_CONF=$conf sinfo 2>&1 || true)" >&2; exit 1; }
  sleep 0.5
done
out=$(SLURM_CONF=$conf timeout 30 srun --mpi=pmix -n 2 printenv PMIX_RANK 2>&1) ||
  { log "a test step failed: $out" >&2; exit 1; }
[ "$(sort <<<"$out" | tr '\n' ' ')" = "0 1 " ] || { log "PMIx ranks of a test step: $out" >&2; exit 1; }
started_ok=1
log "up in $dir (slurmctld :$ctld_port, slurmd :$slurmd_port, node $host with $cpus CPUs)"
log "srun --mpi=list: $(echo "$mpis" | tr -s '\n ' ' ')"
