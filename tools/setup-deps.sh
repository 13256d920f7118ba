#!/usr/bin/env bash
# Makes sure the system packages ringbench builds with are installed. As root on Debian/Ubuntu it
# installs what is missing with apt; otherwise it names exactly what is missing and fails.
set -euo pipefail

packages=(cmake g++ make git python3 libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libboost-program-options-dev catch2)

have_package() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

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
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup-deps: missing packages: ${missing[*]}" >&2
  echo "setup-deps: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
