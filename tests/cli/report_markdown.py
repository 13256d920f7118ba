"""Checks a `ringbench report` folder against the results it was made from: report.md names every
run with its real median time, TFLOP/s and check verdict (taken from `ringbench export`, which
reads the file independently of the report's Python reader), holds every section, and every
plot it shows is a valid PNG of plausible size.

usage: report_markdown.py REPORT_DIR EXPORT.json
"""
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "report"))
import formatting as fmt  # noqa: E402

SECTIONS = ["## Environment and provenance", "## Results", "## Validation",
            "## Best configuration per sequence length", "## Scaling efficiency", "## Communication overhead",
            "## Per-rank imbalance", "## Plots"]
PLOTS = ["time_vs_seq.png", "throughput_vs_seq.png", "memory_vs_seq.png", "exposed_comm_vs_seq.png",
         "rank_step_heatmap.png", "scaling_efficiency.png"]


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path}: no IHDR chunk"
    width, height = struct.unpack(">II", data[16:24])
    assert 400 <= width <= 4000 and 300 <= height <= 4000, f"{path}: {width}x{height}"
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", f"{path}: truncated (no IEND chunk)"
    assert 10_000 <= len(data) <= 5_000_000, f"{path}: {len(data)} bytes"
    return width, height


def section(text, title):
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def main():
    out_dir, export_path = sys.argv[1:3]
    with open(os.path.join(out_dir, "report.md"), encoding="utf-8") as f:
        report = f.read()
    with open(export_path) as f:
        records = json.load(f)
    for title in SECTIONS:
        assert title in report, f"report lacks {title}"
    results = section(report, "## Results")
    validation = section(report, "## Validation")
    for r in records:
        row = next((line for line in results.splitlines() if line.startswith(f"| {r['run_id']} ")), None)
        assert row, f"run {r['run_id']} missing from the results tables"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == fmt.tokens(r["sequence_length"]) and cells[2] == r["mask"] and cells[4] == r["layout"], row
        # density: allowed pairs / S² (1 dense, (S+1)/2S causal)
        S = r["sequence_length"]
        assert cells[3] == f"{1.0 if r['mask'] == 'none' else (S + 1) / (2 * S):.4f}", f"density {cells[3]} in {row}"
        assert cells[5] == fmt.ms(r["forward_time_median"]), f"median {cells[5]} != {fmt.ms(r['forward_time_median'])}"
        assert cells[8] == fmt.num(r["tflops_per_gpu"], 4), f"TFLOP/s {cells[8]} in {row}"
        if r["check_passed"] is not None:
            vrow = next(line for line in validation.splitlines() if line.startswith(f"| {r['run_id']} "))
            assert fmt.sci(r["check_rel_err"]) in vrow and ("passed" if r["check_passed"] else "FAILED") in vrow, vrow
    assert re.search(r"\*\*Verdict: all \d+ checked cases passed", validation), "no validation verdict"
    scaling = section(report, "## Scaling efficiency")
    assert "| 4 |" in scaling and "| 2 |" in scaling, "scaling table lacks the 2- and 4-rank runs"
    for name in PLOTS:
        assert f"]({name})" in report, f"report does not show {name}"
        w, h = check_png(os.path.join(out_dir, name))
        print(f"report_markdown: {name} {w}x{h}")
    print(f"report_markdown: {len(records)} runs with their numbers, {len(PLOTS)} plots")


if __name__ == "__main__":
    main()
