#!/usr/bin/env bash
# call 1: build, GPU tests of the memory plan/energy and the emulated members
export NCCL_NVLS_ENABLE=0
BUILD_DIR=build-gpu tools/gpu-check.sh $OUT build
source tools/mpi-env.sh
M=(mpirun --allow-run-as-root -np 1 -x NCCL_NVLS_ENABLE -x PATH)
timeout 200 "${M[@]}" build-gpu/tests/ringbench_gpu_tests "[memory],[emulated]" >$OUT/gpu-tests.log 2>&1
echo "gpu tests rc=$?"; tail -5 $OUT/gpu-tests.log
