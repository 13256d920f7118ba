#!/usr/bin/env bash
# slurm_srun_equals_mpirun.sh RINGBENCH CLUSTER MPIEXEC...
# The same 4-rank run started by `srun --mpi=pmix -n 4` (Slurm's PMIx wires MPI up) and by mpirun
# gives the same results: identical output tensors (O, LSE) and the same check error. The srun run
# is stamped as such (launcher srun, its job and step), the mpirun run as mpirun.
source "$(dirname "$0")/slurm_lib.sh" "$@"
case_options=(--device cpu --seq-len 2048 --heads 4 --kv-heads 2 --mask causal --layout zigzag
              --iters 2 --check --dump-tensors)

timeout 120 srun --mpi=pmix -n 4 "$ringbench" run "${case_options[@]}" --output srun.h5 \
  >srun.log 2>&1 || fail "srun exit code $? (srun.log below)"
timeout 120 "${mpirun[@]}" -np 4 "$ringbench" run "${case_options[@]}" --output mpirun.h5 \
  >mpirun.log 2>&1 || fail "mpirun exit code $? (mpirun.log below)"

expect_runs srun.h5 1 status=ok world_size=4 check_passed=true provenance.launcher=srun \
  provenance.slurm_nodelist="$node"
expect_runs mpirun.h5 1 status=ok world_size=4 check_passed=true provenance.launcher=mpirun \
  provenance.slurm_job_id= provenance.slurm_step=
"$ringbench" export srun.h5 --format json >srun.json
"$ringbench" export mpirun.h5 --format json >mpirun.json
python3 - srun.json mpirun.json <<'PY' || fail "srun and mpirun runs differ"
import json, sys

a, b = (json.load(open(f))[0] for f in sys.argv[1:3])
if not a["provenance"]["slurm_job_id"] or a["provenance"]["slurm_step"] != a["provenance"]["slurm_job_id"] + ".0":
    sys.exit(f"srun run not stamped with its job and step: {a['provenance']}")
for key in ("check_rel_err", "flops", "bytes_sent_per_rank", "config"):
    if a[key] != b[key]:
        sys.exit(f"{key}: srun {a[key]} != mpirun {b[key]}")
print("check_rel_err", a["check_rel_err"], "in both runs")
PY
# h5diff without a tolerance: the tensors must be equal value for value.
for tensor in O LSE; do
  h5diff srun.h5 mpirun.h5 "/runs/000000/tensors/$tensor" "/runs/000000/tensors/$tensor" ||
    fail "tensor $tensor differs between the srun and the mpirun run"
done
echo "slurm_srun_equals_mpirun: identical O and LSE, same check error"
