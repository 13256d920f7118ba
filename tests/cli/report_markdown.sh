#!/usr/bin/env bash
# report_markdown.sh DIR RINGBENCH: `ringbench report` on the fixture's CPU results, then checks
# the Markdown's numbers against `ringbench export` and every plot (report_markdown.py).
set -euo pipefail
dir=$1 ringbench=$2
here=$(dirname "$0")
if ! python3 -c "import h5py, matplotlib" 2>/dev/null; then
  echo "SKIPPED: python3 lacks h5py or matplotlib (tools/setup-deps.sh installs them)"; exit 77
fi
rm -rf "$dir/report"
"$ringbench" report "$dir/r.h5" --out "$dir/report"
"$ringbench" export "$dir/r.h5" --output "$dir/report-export.json"
python3 "$here/report_markdown.py" "$dir/report" "$dir/report-export.json"
