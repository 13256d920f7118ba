#!/usr/bin/env bash
# call 2: 1B LongNet, every member of the 1024-member ring
export NCCL_NVLS_ENABLE=0
source tools/mpi-env.sh
M=(mpirun --allow-run-as-root -np 1 -x NCCL_NVLS_ENABLE -x PATH)
spec=dilated:2048,16384,131072,1048576,8388608,67108864,536870912,1073741824:1,4,16,64,256,1024,4096,8192
timeout 560 "${M[@]}" build-gpu/apps/ringbench run --seq-len 1G --heads 8 --kv-heads 1 --head-dim 128 --dtype bf16 \
  --mask $spec --ring-size 1024 --members all --check-rows 16 --warmup 0 --iters 1 --output $OUT/dilated-all.h5 >$OUT/dilated-all.log 2>&1
echo "rc=$?"; tail -4 $OUT/dilated-all.log
