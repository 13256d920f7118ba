"""peers_results.py FIXTURE.h5 OUT.h5 RINGBENCH: appends two synthetic peer runs (tools/peers'
writer, as peers.py does after timing them) to a copy of a ringbench results file; ringbench's own
reader (export) must then list them beside its runs with the same keys, the peers' summary as
written, and the file's earlier runs untouched. No GPU needed: the timing side is not tested here."""
import csv
import io
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tools", "peers"))
import h5py  # noqa: E402
from peer_results import PeerRun, append_runs, forward_flops  # noqa: E402
from peers import ringbench_config  # noqa: E402

fixture, out, ringbench = sys.argv[1:4]
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
shutil.copyfile(fixture, out)
with h5py.File(out, "r") as f:
    before = sorted(f["runs"].keys())

case = {"seq-len": "4K", "batch": "1", "heads": "8", "kv-heads": "2", "head-dim": "64", "mask": "causal",
        "dtype": "bf16", "pass": "fwdbwd", "warmup": "1", "iters": "3", "seed": "42"}
flops = forward_flops(1, 8, 4096, 64, True)
runs = [PeerRun(ringbench_config(case, peer), {"forward": [1.0, 2.0, 3.0], "backward": [2.0, 4.0, 6.0]},
                {"forward": flops, "backward": 2.5 * flops}, {"suite": "peers"}, {"energy_j": 9.0})
        for peer in ("torch-cudnn", "torch-flash2")]
append_runs(out, runs)
assert not [p for p in os.listdir(os.path.dirname(os.path.abspath(out))) if ".tmp." in p], "copy left"

exported = subprocess.run([ringbench, "export", out, "--format", "csv"], check=True, capture_output=True,
                          text=True).stdout
rows = list(csv.DictReader(io.StringIO(exported)))
assert len(rows) == len(before) + 2, (len(rows), len(before))
peers = [r for r in rows if r.get("kernel") in ("torch-cudnn", "torch-flash2")]
assert len(peers) == 2, [r.get("kernel") for r in rows]
for r in peers:
    assert r["sequence_length"] == "4096" and r["mask"] == "causal" and r["config.kv-heads"] == "2", r
    assert r["provenance.suite"] == "peers", r
    # the median iteration is forward 2 + backward 4 ms; 3.5 forwards of FLOPs in it
    assert abs(float(r["total_time_median"]) - 6.0) < 1e-9, r["total_time_median"]
    assert abs(float(r["tflops_per_gpu"]) - 3.5 * flops / 6e-3 / 1e12) < 1e-6, r["tflops_per_gpu"]
    assert abs(float(r["joules_per_tflop"]) - 9.0 / (3 * 3.5 * flops / 1e12)) < 1e-9
with h5py.File(out, "r") as f:
    assert sorted(f["runs"].keys())[: len(before)] == before
    assert all(f["runs"][k].attrs["suite"] == "peers" for k in sorted(f["runs"].keys())[len(before):])
print("peer runs read back by ringbench export:", [r["kernel"] for r in peers])
