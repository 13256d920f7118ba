"""Checks that `ringbench export` round-trips: the JSON (strict) and CSV exports of a results file
hold one record per run, agree with each other field by field, and equal the numbers and
configuration stored in the HDF5 file exactly.

usage: report_export.py RESULTS.h5 EXPORT.json EXPORT.csv
"""
import csv
import json
import math
import sys

import h5py

# export field -> summary attribute it must equal (times in ms)
SUMMARY = {
    "forward_time_mean": "mean_ms", "forward_time_std": "std_ms", "forward_time_min": "min_ms",
    "forward_time_max": "max_ms", "forward_time_median": "median_ms", "total_time_median": "median_ms",
    "throughput_tokens_per_sec": "tokens_per_s", "tflops_per_gpu": "tflops_per_rank",
    "exposed_comm_fraction": "exposed_comm_fraction", "comm_ms": "comm_ms", "achieved_GBps": "achieved_GBps",
}
SUITE_FIELDS = ["block_name", "sequence_length", "batch_size", "forward_time_mean", "forward_time_std",
                "forward_time_min", "forward_time_max", "peak_memory_mb", "throughput_tokens_per_sec",
                "memory_efficiency_mb_per_token", "config"]


def reject(constant):
    raise ValueError(f"non-JSON constant {constant}")


def csv_value(text, like):
    """A CSV cell read back as the JSON value's type."""
    if like is None:
        return None if text == "" else text
    if isinstance(like, bool):
        return text == "true"
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    return text


def flatten(record):
    flat = {k: v for k, v in record.items() if k not in ("config", "provenance")}
    flat.update({f"config.{k}": v for k, v in record["config"].items()})
    flat.update({f"provenance.{k}": v for k, v in record["provenance"].items()})
    return flat


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    results, json_path, csv_path = sys.argv[1:4]
    with open(json_path) as f:
        records = json.load(f, parse_constant=reject)
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    with h5py.File(results, "r") as f:
        ids = sorted(f["runs"].keys())
        assert [r["run_id"] for r in records] == ids, "JSON records are not the file's runs"
        assert [r["run_id"] for r in rows] == ids, "CSV rows are not the file's runs"
        for record, row in zip(records, rows):
            for name in SUITE_FIELDS:
                assert name in record, f"JSON record lacks {name}"
            for key, value in flatten(record).items():
                assert key in row, f"CSV lacks column {key}"
                assert csv_value(row[key], value) == value, f"{key}: CSV {row[key]!r} vs JSON {value!r}"
            run = f["runs"][record["run_id"]]
            summary = run["summary"].attrs
            for field, attr in SUMMARY.items():
                assert record[field] == float(summary[attr]), f"{field} {record[field]} != {attr} {summary[attr]}"
            assert math.isclose(record["peak_memory_mb"], summary["peak_mem_bytes"] / 2**20, rel_tol=1e-15)
            assert record["sequence_length"] == int(text(run.attrs["seq-len"]))
            assert record["world_size"] == int(run.attrs["world_size"])
            for key in text(run.attrs["config_keys"]).split():
                assert str(record["config"][key]).lower() == text(run.attrs[key]).lower() or \
                    float(record["config"][key]) == float(text(run.attrs[key])), f"config {key}"
            if "check" in run:
                assert record["check_rel_err"] == float(run["check"].attrs["rel_err"])
                assert record["check_passed"] == bool(run["check"].attrs["passed"])
            assert record["backward_time_mean"] is None
    print(f"report_export: {len(records)} records round-trip through JSON and CSV")


if __name__ == "__main__":
    main()
