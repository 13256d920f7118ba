#!/usr/bin/env bash
# slurm_gpu_layout.sh RINGBENCH CLUSTER SCRIPT TASKS GPUS [SBATCH OPTIONS]
# What slurm/SCRIPT.sbatch, unchanged, gives each rank on a node with 8 (counted) GPUs: a stand-in
# for ringbench (tests/slurm/task_probe.sh) reports it. Wanted: TASKS tasks wired up by Slurm's
# PMIx (PMIx rank = task), node-local ids 0..TASKS-1, every task seeing all GPUS GPUs of the job
# on its node (none hidden by a per-task binding, so ringbench's rank with local id i takes GPU i),
# and the step holding the script's --cpus-per-task (8) for every task.
source "$(dirname "$0")/slurm_lib.sh" "$1" "$2"
script=$3 tasks=$4 gpus=$5
shift 5
export RINGBENCH=$source_dir/tests/slurm/task_probe.sh RINGBENCH_DEVICE=cpu

id=$(sbatch_job "$@" "$source_dir/slurm/$script.sbatch" --seq-len 1024)
state=$(wait_job "$id" 60)
out=ringbench-$id.out
[ "$state" = COMPLETED ] || fail "job $id ended $state"
python3 - "$out" "$tasks" "$gpus" "$id" <<'PY' || fail "the ranks did not get what the script asks for"
import re, sys

lines = open(sys.argv[1]).read().splitlines()
tasks, gpus, job = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
probes = [dict(re.findall(r"(\w+)=(\S*)", l.split("args=")[0])) | {"args": l.split("args=")[1]}
          for l in lines if l.startswith("probe: task=")]
problems = []
if sorted(int(p["task"]) for p in probes) != list(range(tasks)):
    problems.append(f"tasks {[p['task'] for p in probes]}, wanted 0..{tasks - 1}")
if sorted(int(p["local"]) for p in probes) != list(range(tasks)):
    problems.append(f"node-local ids {[p['local'] for p in probes]}, wanted 0..{tasks - 1}")
want_gpus = ",".join(str(g) for g in range(gpus))
for p in probes:
    if p["pmix_rank"] != p["task"]:
        problems.append(f"task {p['task']}: PMIx rank {p['pmix_rank']}")
    if p["visible_gpus"] != want_gpus:
        problems.append(f"task {p['task']} sees GPUs {p['visible_gpus']}, wanted {want_gpus}")
    if p["cpus_per_task"] != "8":
        problems.append(f"task {p['task']}: SLURM_CPUS_PER_TASK {p['cpus_per_task']}")
    if p["args"] != f"run --device cpu --output ringbench-{job}.h5 --seq-len 1024":
        problems.append(f"task {p['task']} ran with '{p['args']}'")
step = [l.split("=", 1)[1] for l in lines if l.startswith("probe: step_cpus=")]
if step != [str(8 * tasks)]:
    problems.append(f"the step holds {step} CPUs, wanted {8 * tasks} (8 per task)")
for p in problems:
    print("layout:", p)
sys.exit(1 if problems else 0)
PY
echo "slurm_gpu_layout $script: $tasks task(s), each sees GPUs 0..$((gpus - 1)) of its node, 8 CPUs per task"
