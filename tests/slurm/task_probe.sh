#!/usr/bin/env bash
# Stands in for ringbench in the slurm/ scripts (RINGBENCH=tests/slurm/task_probe.sh): each task
# prints what Slurm gave it; task 0 adds the CPUs of its job step.
echo "probe: task=$SLURM_PROCID local=$SLURM_LOCALID pmix_rank=${PMIX_RANK:-none}" \
     "cpus_per_task=${SLURM_CPUS_PER_TASK:-none} visible_gpus=${CUDA_VISIBLE_DEVICES-none} args=$*"
if [ "$SLURM_PROCID" = 0 ]; then
  echo "probe: step_cpus=$(scontrol show step "$SLURM_JOB_ID.$SLURM_STEP_ID" | grep -o ' CPUs=[0-9]*' | cut -d= -f2)"
fi
