#!/usr/bin/env bash
# The whole GPU check in one command, for the GPU machine:
#   tools/gpu-check.sh OUT_DIR [stages...]     stages: build tests bench ring backward growth patterns
#                                              schemes schemes-bwd peers (default: all)
#   BUILD_TARGETS=ringbench builds the app alone (default: all)
# Unpacks carried dependencies (.gpu-deps, from ../shared/gpu-machine/fetch-deps.sh), configures
# and builds with all cores, runs every test (GPU tests included) and the GPU benchmarks, and
# writes logs and the HDF5 results into OUT_DIR. NCCL_NVLS_ENABLE=0 stays set in every process.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: tools/gpu-check.sh OUT_DIR [build tests bench ring backward growth patterns schemes schemes-bwd peers]}; shift
stages=${*:-build tests bench ring backward growth patterns schemes schemes-bwd peers}
mkdir -p "$out"
source tools/mpi-env.sh
export NCCL_NVLS_ENABLE=0
build=${BUILD_DIR:-build-gpu}
rb=$build/apps/ringbench
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
mpirun_n() { local n=$1; shift; mpirun --allow-run-as-root -np "$n" -x NCCL_NVLS_ENABLE -x PATH "$@"; }
log() { echo "### $*" | tee -a "$out/bench.log"; }
# the hybrids of P ranks with both U and R above 1 (U x P/U)
hybrids() { local u; for ((u = 2; u < $1; u *= 2)); do echo "hybrid:${u}x$(($1 / u))"; done; }
# the double rings of P ranks with inner and outer rings of more than one rank
doublerings() { local i; for ((i = 2; i < $1; i *= 2)); do echo "doublering:$i"; done; }

if [[ " $stages " == *" build "* ]]; then
  if [ -d .gpu-deps ]; then for f in .gpu-deps/*.deb; do dpkg -x "$f" /; done; fi
  extra=()
  [ -f .gpu-deps/cudnn-frontend/include/cudnn_frontend.h ] &&
    extra+=(-DCUDNN_FRONTEND_INCLUDE_DIR="$PWD/.gpu-deps/cudnn-frontend/include")
  { nvidia-smi; nvidia-smi topo -m; nvcc --version; } >"$out/machine.log" 2>&1
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DRINGBENCH_CUDA=ON "${extra[@]}" >"$out/build.log" 2>&1 &&
    cmake --build "$build" -j "$(nproc)" --target ${BUILD_TARGETS:-all} >>"$out/build.log" 2>&1 ||
    { tail -60 "$out/build.log"; exit 1; }
  echo "build ok"
fi

if [[ " $stages " == *" tests "* ]]; then
  (cd "$build" && ctest --output-on-failure --timeout 600) >"$out/tests.log" 2>&1
  echo "tests rc=$?"; grep -E "tests passed|Failed|Skipped|\(Failed\)" "$out/tests.log" | tail -20
  # more ranks on this host than GPUs: refused on every rank with one message, exit 2
  mpirun_n $((gpus + 1)) --oversubscribe "$rb" run --device cuda --seq-len $((gpus + 1))K --output none >"$out/too-many.log" 2>&1
  echo "too many ranks: rc=$? $(grep -m1 'error' "$out/too-many.log")"
fi

if [[ " $stages " == *" bench "* ]]; then
  h5="$out/results.h5"
  shape=(--heads 32 --head-dim 128 --dtype bf16 --output "$h5")
  log "kernel alone: flash_kernel_check --bench (B=1, H=32, D=128, S=16K, bf16)"
  "$build/ring/cuda/flash/flash_kernel_check" --bench 2>&1 | tee -a "$out/bench.log"
  log "kernels: every kernel, 4K and 16K, 32x128 and 8x64, both masks, checked"
  mpirun_n 1 "$rb" kernels --config configs/kernels.ini --output "$h5" 2>&1 | tee -a "$out/bench.log"
  mpirun_n 1 "$rb" kernels --config configs/kernels.ini --heads 8 --head-dim 64 --seq-len 16K --output "$h5" 2>&1 | tee -a "$out/bench.log"
fi

if [[ " $stages " == *" ring "* ]]; then
  h5="$out/results.h5"
  shape=(--heads 32 --head-dim 128 --dtype bf16 --output "$h5")
  kernels=${RING_KERNELS:-flash cudnn}
  log "1 GPU: block sizes of the 2-GPU rings (32K, 128K, 512K tokens), kernels: $kernels"
  mpirun_n 1 "$rb" run --seq-len 32K 128K 512K --kernel $kernels --warmup 1 --iters 2 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  if [ "$gpus" -ge 2 ]; then
    log "2 GPUs: 64K, 256K, 1M tokens, non-causal and causal zigzag, kernels: $kernels"
    mpirun_n 2 "$rb" run --seq-len 64K 256K 1M --mask none --kernel $kernels --warmup 1 --iters 2 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
    mpirun_n 2 "$rb" run --seq-len 64K 256K 1M --mask causal --layout zigzag --kernel $kernels --warmup 1 --iters 2 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
    log "2 GPUs: 64K checked against the GPU reference, auto kernel, both masks"
    mpirun_n 2 "$rb" run --seq-len 64K --mask none causal --layout zigzag --kernel auto --check "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  fi
fi

if [[ " $stages " == *" backward "* ]]; then
  h5="$out/backward.h5"
  shape=(--heads 32 --head-dim 128 --dtype bf16 --output "$h5")
  kernels=${BACKWARD_KERNELS:-cudnn flash}
  seq=${BACKWARD_SEQ:-256K}
  log "backward kernel alone: flash_backward_check (checks, then --bench: B=1, H=32, D=128, 16K)"
  "$build/ring/cuda/flash/flash_backward_check" 2>&1 | tail -5 | tee -a "$out/bench.log"
  "$build/ring/cuda/flash/flash_backward_check" --bench 2>&1 | tee -a "$out/bench.log"
  log "kernels, backward: flash and cuDNN at 16K, 32x128 and 8x64, both masks, checked"
  mpirun_n 1 "$rb" kernels --kernels flash cudnn --config configs/kernels.ini --seq-len 16K --pass bwd --iters 10 --output "$h5" 2>&1 | tee -a "$out/bench.log"
  mpirun_n 1 "$rb" kernels --kernels flash cudnn --config configs/kernels.ini --seq-len 16K --heads 8 --head-dim 64 --pass bwd --iters 10 --output "$h5" 2>&1 | tee -a "$out/bench.log"
  [ "${BACKWARD_KERNELS_ONLY:-0}" = 1 ] && exit 0
  n=$((gpus >= 2 ? 2 : 1))
  log "$n GPU(s): 64K fwdbwd checked against the fp32 GPU reference (gradients too), kernel auto"
  mpirun_n $n "$rb" run --seq-len 64K --mask none causal --layout zigzag striped --pass fwdbwd --kernel auto --iters 1 --check "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  log "$n GPU(s): $seq non-causal, passes fwd bwd fwdbwd, kernels: $kernels"
  mpirun_n $n "$rb" run --seq-len $seq --mask none --pass fwd bwd fwdbwd --kernel $kernels --warmup 1 --iters 3 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  log "$n GPU(s): $seq causal, layouts contiguous zigzag striped, passes fwd bwd fwdbwd, kernel auto"
  mpirun_n $n "$rb" run --seq-len $seq --mask causal --layout contiguous zigzag striped --pass fwd bwd fwdbwd --kernel auto --warmup 1 --iters 3 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
fi

if [[ " $stages " == *" growth "* ]]; then
  log "gradient error vs ring size: 16K causal zigzag, 8x128, virtual rings of 1, 2, 4, 8 on one GPU, checked"
  for p in 1 2 4 8; do
    mpirun_n 1 "$rb" run --seq-len 16K --heads 8 --head-dim 128 --mask causal --layout zigzag --pass fwdbwd --kernel cudnn flash --virtual-ranks $p --iters 1 --check --output "$out/growth.h5" 2>&1 | grep -v '^#' | tee -a "$out/bench.log"
  done
fi

if [[ " $stages " == *" patterns "* ]]; then
  h5="$out/patterns.h5"
  shape=(--heads 32 --head-dim 128 --dtype bf16 --kernel flash --output "$h5")
  patterns=(${PATTERNS:-causal window:4095:0 window:2048:2048 longformer:2048:2048:128 blocksparse:128:0.1 bigbird:128:33:1:3 dilated:16384:4 dilated:2048,4096,8192,16384,32768,65536:1,2,4,8,16,32})
  flex=(); for p in "${patterns[@]}"; do [[ $p == causal || $p == dilated* ]] || flex+=("$p"); done
  log "patterns, 64K, checked against the GPU reference: ${patterns[*]}"
  mpirun_n 1 "$rb" run --seq-len 64K --mask "${patterns[@]}" --warmup 0 --iters 1 --check "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  log "patterns, 64K, forward, own flash kernel, then FlexAttention in the same call"
  mpirun_n 1 "$rb" run --seq-len 64K --mask "${patterns[@]}" --warmup 2 --iters 10 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  python3 tools/bench/flex_patterns.py 65536 32 128 "${flex[@]}" 2>&1 | grep -v Warning | tee -a "$out/bench.log"
  python3 tools/bench/longnet_gather.py 65536 16384 4 2>&1 | grep -v Warning | tee -a "$out/bench.log"
  log "patterns, 256K: unsharded, then a ring of 4 virtual ranks"
  mpirun_n 1 "$rb" run --seq-len 256K --mask "${patterns[@]}" --warmup 1 --iters 3 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  mpirun_n 1 "$rb" run --seq-len 256K --mask "${patterns[@]}" --virtual-ranks 4 --warmup 1 --iters 3 "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
fi

if [[ " $stages " == *" schemes "* ]]; then
  h5="$out/schemes.h5"
  shape=(--heads 32 --head-dim 128 --dtype bf16 --kernel flash --output "$h5")
  log "schemes: the GPU scheme tests, then every scheme on 2, 4, 8 virtual ranks at 256K"
  mpirun_n 1 "$build/tests/ringbench_gpu_tests" "[scheme]" 2>&1 | tail -3 | tee -a "$out/bench.log"
  for p in 2 4 8; do
    mpirun_n 1 "$rb" run --seq-len 256K --mask none causal --layout zigzag --virtual-ranks $p \
      --scheme ring allgather allgather-pipelined ulysses $(hybrids $p) $(doublerings $p) --warmup 1 --iters 3 \
      "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  done
fi

if [[ " $stages " == *" schemes-bwd "* ]]; then
  h5="$out/schemes.h5"
  shape=(--heads 32 --head-dim 128 --dtype bf16 --kernel flash --output "$h5")
  log "schemes, fwd+bwd: every scheme on 2, 4, 8 virtual ranks at 128K"
  for p in 2 4 8; do
    mpirun_n 1 "$rb" run --seq-len 128K --mask none causal --layout zigzag --virtual-ranks $p --pass fwdbwd \
      --scheme ring allgather allgather-pipelined ulysses $(hybrids $p) $(doublerings $p) --warmup 1 --iters 2 \
      "${shape[@]}" 2>&1 | tee -a "$out/bench.log"
  done
fi

if [[ " $stages " == *" peers "* ]]; then
  # the own kernels and the peers (PyTorch SDPA cuDNN and FA2; FA3 where its wheel is on
  # PYTHONPATH) on the same cases, in the same call, into one file
  h5="$out/peers.h5"
  for shape in "--heads 32 --head-dim 128" "--heads 8 --head-dim 64"; do
    log "kernels and peers, 16K and 64K, both masks: $shape"
    mpirun_n 1 "$rb" kernels --kernels flash cudnn --config configs/kernels.ini --seq-len 16K 64K $shape --output "$h5" 2>&1 | tee -a "$out/bench.log"
    python3 tools/peers/peers.py --config configs/kernels.ini --seq-len 16K 64K $shape --output "$h5" 2>&1 | tee -a "$out/bench.log"
  done
fi
