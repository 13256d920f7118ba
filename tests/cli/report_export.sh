#!/usr/bin/env bash
# report_export.sh DIR RINGBENCH: exports the fixture's results as JSON and CSV and checks that
# they round-trip (report_export.py compares them with the HDF5 file through h5py).
set -euo pipefail
dir=$1 ringbench=$2
here=$(dirname "$0")
if ! python3 -c "import h5py" 2>/dev/null; then
  echo "SKIPPED: python3 lacks h5py (tools/setup-deps.sh installs it)"; exit 77
fi
"$ringbench" export "$dir/r.h5" --format json --output "$dir/export.json"
"$ringbench" export "$dir/r.h5" --format csv > "$dir/export.csv"
python3 "$here/report_export.py" "$dir/r.h5" "$dir/export.json" "$dir/export.csv"
