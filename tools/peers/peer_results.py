"""Runs of other attention implementations (PyTorch SDPA backends, FlashAttention-3) appended to a
ringbench HDF5 results file as runs of their own (provenance suite = peers, kernel = the peer), in
ringbench's schema, so `ringbench report` and `compare` set them beside ringbench's kernels.

Appends the way ringbench does (README, "HDF5 results"): under an exclusive lock on FILE.lock,
the file is copied to FILE.tmp.PID, the run written there (complete=1 last), the copy flushed and
renamed over the file: a crash leaves the old file whole and at most one stale copy, which the
next append removes.
"""
import fcntl
import glob
import os
import shutil
import time
from dataclasses import dataclass, field

import h5py
import numpy as np

SCHEMA_VERSION = 4
TOOL_VERSION = "0.1.0"
BACKWARD_FLOPS_PER_FORWARD = 2.5  # core/FlopCount.hpp


def forward_flops(batch, heads, seq_len, head_dim, causal):
    """4 * D per allowed (query, key, head) pair, as ringbench counts."""
    pairs = seq_len * (seq_len + 1) // 2 if causal else seq_len * seq_len
    return 4.0 * head_dim * pairs * heads * batch


@dataclass
class PeerRun:
    """One measured case of one peer: its configuration (ringbench's keys), per-iteration times of
    each timed pass in ms, and what it measured beside them."""
    config: dict  # ringbench config key -> value (strings)
    pass_ms: dict  # "forward" / "backward" -> list of ms per timed iteration
    pass_flops: dict  # "forward" / "backward" -> FLOPs of one iteration's pass
    provenance: dict = field(default_factory=dict)
    extra_summary: dict = field(default_factory=dict)  # energy_j (all timed iterations), peak_mem_bytes


def _summary(run):
    s = {}
    total = None
    for name, prefix in (("forward", "fwd_"), ("backward", "bwd_")):
        if name not in run.pass_ms:
            continue
        ms = np.asarray(run.pass_ms[name], dtype=np.float64)
        total = ms if total is None else total + ms
        med = float(np.median(ms))
        s.update({prefix + "median_ms": med, prefix + "mean_ms": float(ms.mean()),
                  prefix + "std_ms": float(ms.std()), prefix + "min_ms": float(ms.min()),
                  prefix + "max_ms": float(ms.max()), prefix + "p95_ms": float(np.percentile(ms, 95)),
                  prefix + "flops": run.pass_flops[name],
                  prefix + "tflops_per_rank": run.pass_flops[name] / (med * 1e-3) / 1e12})
    flops = sum(run.pass_flops.values())
    med = float(np.median(total))
    tokens = int(run.config["seq-len"]) * int(run.config.get("batch", "1"))
    s.update({"median_ms": med, "mean_ms": float(total.mean()), "std_ms": float(total.std()),
              "min_ms": float(total.min()), "max_ms": float(total.max()),
              "p95_ms": float(np.percentile(total, 95)), "rank_min_ms": med, "rank_median_ms": med,
              "rank_max_ms": med, "wall_median_ms": med, "flops": flops,
              "tflops_per_rank": flops / (med * 1e-3) / 1e12, "tokens_per_s": tokens / (med * 1e-3),
              "compute_ms": med, "comm_ms": 0.0, "wait_ms": 0.0, "exposed_comm_fraction": 0.0,
              "bytes_sent_per_rank": 0.0, "compute_imbalance": 1.0, "density": _density(run.config)})
    s.update({k: v for k, v in run.extra_summary.items() if k != "energy_j"})
    energy = run.extra_summary.get("energy_j")  # over all timed iterations
    if energy is not None and flops > 0:
        seconds = float(total.sum()) * 1e-3
        s["energy_j"] = energy / len(total)  # per iteration, as ringbench's
        s["joules_per_tflop"] = s["energy_j"] / (flops / 1e12)
        s["avg_power_w"] = energy / seconds if seconds > 0 else 0.0
    return s, total


def _density(config):
    S = int(config["seq-len"])
    return (S + 1) / (2 * S) if config.get("mask") == "causal" else 1.0


def _write(runs_group, run_id, run):
    g = runs_group.create_group(run_id)
    for k, v in run.config.items():
        g.attrs[k] = str(v)
    g.attrs["config_keys"] = " ".join(run.config.keys())
    for k, v in run.provenance.items():
        g.attrs[k] = str(v)
    g.attrs["world_size"] = np.int64(1)
    g.attrs["status"] = "ok"
    g.attrs["error"] = ""
    text = h5py.string_dtype()
    row = np.dtype([("rank", "<i4"), ("host", text), ("local_rank", "<i4"), ("device", text),
                    ("pci_bus_id", text)])
    g.create_dataset("ranks", data=np.array([(0, os.uname().nodename, 0,
                                              run.provenance.get("gpu_name", ""),
                                              run.provenance.get("pci_bus_id", ""))], dtype=row))
    summary, total = _summary(run)
    iters = len(total)
    timing = g.create_group("timing")
    steps = np.zeros((iters, 1, 1))
    timing.create_dataset("compute_ms", data=total.reshape(iters, 1, 1))
    timing.create_dataset("comm_ms", data=steps)
    timing.create_dataset("wait_ms", data=steps)
    timing.create_dataset("total_ms", data=total.reshape(iters, 1))
    timing.create_dataset("wall_ms", data=total.reshape(iters, 1))
    for name, ms in run.pass_ms.items():
        p = timing.create_group(name)
        ms = np.asarray(ms, dtype=np.float64)
        p.create_dataset("compute_ms", data=ms.reshape(iters, 1, 1))
        p.create_dataset("comm_ms", data=steps)
        p.create_dataset("wait_ms", data=steps)
        p.create_dataset("total_ms", data=ms.reshape(iters, 1))
        p.create_dataset("wall_ms", data=ms.reshape(iters, 1))
        p.attrs["flops"] = np.float64(run.pass_flops[name])
    g.create_group("comm").create_dataset("bytes_sent", data=np.zeros((1, 1), dtype=np.int64))
    g.create_group("work").create_dataset("flops", data=np.array([[summary["flops"]]]))
    sg = g.create_group("summary")
    for k, v in summary.items():
        sg.attrs[k] = np.float64(v)
    g.attrs["complete"] = np.int64(1)  # last: the run is whole


def _next_id(runs_group):
    n = len(runs_group)
    while f"{n:06d}" in runs_group:
        n += 1
    return f"{n:06d}"


def append_runs(path, runs):
    """Appends `runs` (PeerRun) to the results file at `path` (created when missing)."""
    path = os.path.abspath(path)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in glob.glob(path + ".tmp.*"):  # left by a crashed append
            os.remove(stale)
        copy = f"{path}.tmp.{os.getpid()}"
        try:
            if os.path.exists(path):
                shutil.copyfile(path, copy)
            with h5py.File(copy, "a") as f:
                if "runs" not in f:
                    f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
                    f.attrs["tool_version"] = TOOL_VERSION
                    f.attrs["git_commit"] = "peers"
                    f.create_group("runs")
                for run in runs:
                    run.provenance.setdefault("created_utc", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                    _write(f["runs"], _next_id(f["runs"]), run)
            with open(copy, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(copy, path)
        finally:
            if os.path.exists(copy):
                os.remove(copy)
