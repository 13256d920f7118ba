#!/usr/bin/env bash
# slurm_sbatch.sh RINGBENCH CLUSTER SCRIPT RANKS GPUS [SBATCH OPTIONS] -- [RUN OPTIONS]
# Submits slurm/SCRIPT.sbatch unchanged, in CPU mode (RINGBENCH_DEVICE=cpu) as the README shows,
# to the test cluster, whose node offers the CPUs and (counted, not real) GPUs of a GPU node. The
# job must end COMPLETED with exit code 0, after granting the GPUS the script's --gpus-per-node
# asks for, and write one checked run of RANKS ranks to ${RINGBENCH_OUTPUT:-ringbench-<job>.h5},
# stamped with the job, the node and the srun step that started the ranks.
source "$(dirname "$0")/slurm_lib.sh" "$1" "$2"
script=$3 ranks=$4 gpus=$5
shift 5
sbatch_options=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do sbatch_options+=("$1"); shift; done
[ $# -gt 0 ] && shift
export RINGBENCH=$ringbench RINGBENCH_DEVICE=cpu

id=$(sbatch_job "${sbatch_options[@]}" "$source_dir/slurm/$script.sbatch" "$@")
state=$(wait_job "$id" 180)
out=$(ls "$work"/*-"$id".out 2>/dev/null | head -n 1)
[ -n "$out" ] || fail "job $id wrote no output file"
[ "$state" = COMPLETED ] || fail "job $id ended $state"
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id exit code $(job_field "$id" ExitCode)"

results=${RINGBENCH_OUTPUT:-ringbench-$id.h5}
grep -q "results appended to $results" "$out" || fail "no 'results appended to $results' in $out"
# The GPUs Slurm allocated to the job on its node (JOB_GRES of scontrol show job -d).
granted=$(timeout 10 scontrol show job --details "$id" | sed -n 's/^ *JOB_GRES=//p')
if [ "$gpus" = 0 ]; then
  [ "$granted" = "(null)" ] || [ -z "$granted" ] || fail "job $id got GPUs ($granted), wanted none"
else
  [ "$granted" = "gpu:$gpus" ] || fail "job $id was granted '$granted', wanted gpu:$gpus"
fi
expect_runs "$work/$results" 1 status=ok world_size="$ranks" device=cpu check_passed=true \
  provenance.slurm_job_id="$id" provenance.slurm_nodelist="$node" provenance.hostnames="$host" \
  provenance.launcher=srun provenance.slurm_step="$id.0"
echo "slurm_sbatch $script: job $id COMPLETED, $ranks ranks, GPUs granted: ${granted/(null)/none}, $results checked"
