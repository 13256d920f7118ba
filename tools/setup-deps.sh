#!/usr/bin/env bash
# Makes sure the system packages ringbench builds with are installed. As root on Debian/Ubuntu it
# installs what is missing with apt; otherwise it names exactly what is missing and fails.
set -euo pipefail

packages=(cmake g++ make git python3 libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libboost-program-options-dev catch2)

have_package() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# `ringbench report` draws with h5py and matplotlib in the python3 on PATH. A distribution's own
# python (Debian 12, Ubuntu 24.04) is "externally managed" and refuses pip, so it gets the apt
# packages; any other python (pyenv, a virtual environment) gets them from pip. Without root this
# only says what to install: the build and every other command work without them.
report_python_deps() {
  python3 -c 'import h5py, matplotlib' >/dev/null 2>&1 && return 0
  local python; python=$(command -v python3)
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-deps: note: 'ringbench report' needs h5py and matplotlib for $python:" \
         "$python -m pip install h5py matplotlib (or apt: python3-h5py python3-matplotlib)" >&2
    return 0
  fi
  if python3 -c 'import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)' &&
     command -v apt-get >/dev/null 2>&1; then
    echo "setup-deps: installing python3-h5py python3-matplotlib"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-h5py python3-matplotlib >/dev/null
  else
    echo "setup-deps: installing h5py matplotlib with pip for $python"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check h5py matplotlib
  fi
  python3 -c 'import h5py, matplotlib' ||
    { echo "setup-deps: h5py and matplotlib are still not importable by $python" >&2; exit 1; }
}

# The cuDNN frontend is header-only and optional (the cuDNN kernel); with a CUDA toolkit present,
# its headers are taken from the pip wheel nvidia-cudnn-frontend into .deps/ (downloaded, not
# installed, so any python works), where CMake looks for them.
fetch_cudnn_frontend() {
  local dest=.deps/cudnn-frontend
  command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] || return 0
  [ -f "$dest/include/cudnn_frontend.h" ] && return 0
  local tmp; tmp=$(mktemp -d)
  if PIP_ROOT_USER_ACTION=ignore python3 -m pip download --quiet --disable-pip-version-check --no-deps \
       --only-binary=:all: -d "$tmp" nvidia-cudnn-frontend >/dev/null 2>&1; then
    mkdir -p "$dest" && python3 -m zipfile -e "$tmp"/nvidia_cudnn_frontend-*.whl "$tmp/unz" &&
      rm -rf "$dest/include" && mv "$tmp/unz/include" "$dest/include" &&
      echo "setup-deps: cuDNN frontend headers in $dest/include"
  else
    echo "setup-deps: note: could not download nvidia-cudnn-frontend; the cuDNN kernel will be off" >&2
  fi
  rm -rf "$tmp"
}
cd "$(dirname "$0")/.."
fetch_cudnn_frontend

# The Slurm tests (tests/slurm/cluster.sh) start a one-node Slurm on this machine: slurm-wlm
# (slurmctld, slurmd, srun/sbatch; its mpi/pmix plugin loads libpmix from libpmix-dev, which
# Open MPI's headers already bring) and munge. They run as root only, so without root this only
# says what to install. Installing starts Debian's own munge service where services run; the tests
# never use it (they start their own daemons in a temporary folder).
slurm_test_deps() {
  local wanted=(slurm-wlm munge libpmix-dev) missing=() p
  for p in "${wanted[@]}"; do have_package "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-deps: note: the Slurm tests skip without root; as root they need: ${missing[*]}" >&2
    return 0
  fi
  echo "setup-deps: installing ${missing[*]} (for the Slurm tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian-like: check for the tools and say what to provide.
  missing=()
  for tool in cmake c++ mpicxx mpirun h5dump python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-deps: missing: ${missing[*]} (and the headers of MPI, HDF5, Boost.Program_options, Catch2)" >&2
    exit 1
  fi
  exit 0
fi

missing=()
for p in "${packages[@]}"; do have_package "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then report_python_deps; slurm_test_deps; exit 0; fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  report_python_deps
  slurm_test_deps
else
  echo "setup-deps: missing packages: ${missing[*]}" >&2
  echo "setup-deps: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
