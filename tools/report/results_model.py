"""The runs of a ringbench HDF5 results file, as plain Python objects (see README, "HDF5 results").

Reads what every schema version so far writes; optional parts (check, telemetry) are None/empty
when a run lacks them, and runs without complete=1 are skipped (they cannot occur with ringbench's
atomic appends, but a file written by another tool might hold one).
"""
from dataclasses import dataclass, field

import h5py
import numpy as np

# Keys that say how a case was measured rather than what it measures.
MEASUREMENT_KEYS = {"warmup", "iters", "seed", "check", "tolerance", "dump-tensors", "timeout", "gpu"}


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Run:
    id: str
    config: dict
    world_size: int
    status: str
    error: str
    provenance: dict
    summary: dict
    check: dict | None
    compute_ms: np.ndarray  # [iterations, ranks, steps]
    comm_ms: np.ndarray
    wait_ms: np.ndarray
    total_ms: np.ndarray  # [iterations, ranks]
    bytes_sent: np.ndarray  # [ranks, steps]
    flops: np.ndarray  # [ranks, steps]
    telemetry: dict = field(default_factory=dict)  # name -> [ranks, 2] (start, end of run)

    # Configuration, typed.
    @property
    def seq_len(self):
        return int(self.config["seq-len"])

    @property
    def batch(self):
        return int(self.config.get("batch", 1))

    @property
    def virtual(self):
        return int(self.config.get("virtual-ranks", 0)) > 1

    def get(self, key, default="?"):
        return self.config.get(key, default)

    def s(self, key, default=float("nan")):
        """A summary number (NaN when the run lacks it)."""
        return float(self.summary.get(key, default))

    @property
    def ok(self):
        return self.status == "ok" and self.s("median_ms") > 0

    def problem_key(self):
        """What is computed: two runs with equal keys solve the same attention problem."""
        return tuple(self.get(k) for k in ("seq-len", "batch", "heads", "kv-heads", "head-dim", "mask", "dtype", "pass"))

    def case_key(self):
        """What is measured: the configuration without measurement settings, plus the world size."""
        items = tuple(sorted((k, v) for k, v in self.config.items() if k not in MEASUREMENT_KEYS))
        return (self.world_size,) + items


def _read_run(run_id, g):
    keys = _text(g.attrs["config_keys"]).split()
    config = {k: _text(g.attrs[k]) for k in keys}
    config.setdefault("pass", "fwd")  # schema 1 timed the forward pass only
    config.setdefault("scheme", "ring")  # before schema 4 every run was a ring
    fixed = {"config_keys", "status", "error", "world_size", "complete"}
    provenance = {
        name: _text(value)
        for name, value in g.attrs.items()
        if name not in fixed and name not in config and isinstance(value, (str, bytes))
    }
    timing = g["timing"]
    check = dict(g["check"].attrs) if "check" in g else None
    telemetry = {name: np.asarray(ds) for name, ds in g["telemetry"].items()} if "telemetry" in g else {}
    return Run(
        id=run_id,
        config=config,
        world_size=int(g.attrs["world_size"]),
        status=_text(g.attrs.get("status", "ok")),
        error=_text(g.attrs.get("error", "")),
        provenance=provenance,
        summary={k: float(v) for k, v in g["summary"].attrs.items()} if "summary" in g else {},
        check={k: float(v) for k, v in check.items()} if check is not None else None,
        compute_ms=np.asarray(timing["compute_ms"]),
        comm_ms=np.asarray(timing["comm_ms"]),
        wait_ms=np.asarray(timing["wait_ms"]),
        total_ms=np.asarray(timing["total_ms"]),
        bytes_sent=np.asarray(g["comm/bytes_sent"]),
        flops=np.asarray(g["work/flops"]) if "work/flops" in g else np.zeros(0),
        telemetry=telemetry,
    )


def load(path):
    """(file attributes, runs in id order) of the results file at `path`."""
    with h5py.File(path, "r") as f:
        attrs = {k: (_text(v) if isinstance(v, (str, bytes)) else v.item() if hasattr(v, "item") else v)
                 for k, v in f.attrs.items()}
        runs = [_read_run(run_id, f["runs"][run_id]) for run_id in sorted(f["runs"].keys())
                if int(f["runs"][run_id].attrs.get("complete", 0)) == 1]
    return attrs, runs


def newest_per_case(runs):
    """The newest usable run of every case (files appended many times hold repeats)."""
    newest = {}
    for run in runs:
        if run.ok:
            newest[run.case_key()] = run
    return sorted(newest.values(), key=lambda r: r.id)
