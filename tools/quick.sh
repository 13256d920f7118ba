#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, build, and run the quick benchmark on
# whatever this machine has: one rank per GPU, or 4 ranks on the CPU when there is no GPU.
# Prints the result table and writes results.h5 (override with --output FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
source tools/mpi-env.sh
gpus=0
if command -v nvidia-smi >/dev/null 2>&1; then gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
if [ "$gpus" -gt 0 ] && build/apps/ringbench --version | grep -q "backends:.*cuda"; then ranks=$gpus; else ranks=4; fi
exec mpirun -np "$ranks" -x NCCL_NVLS_ENABLE build/apps/ringbench quick --output results.h5 "$@"
