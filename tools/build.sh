#!/usr/bin/env bash
# Configures and builds ringbench into ${BUILD_DIR:-build} with all cores. Extra arguments go to
# CMake (for example -DRINGBENCH_CUDA=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
grep -E "^-- ringbench" "$build.configure.log" || true
cmake --build "$build" -j "$(nproc)"
