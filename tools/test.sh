#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, build, and run every test (unit tests,
# multi-rank tests under mpirun, end-to-end CLI tests). GPU tests skip, saying so, without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh "$@"
source tools/mpi-env.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600
