#!/usr/bin/env python3
"""The attention implementations ringbench's kernels are compared with, timed on the cases of a
ringbench config and appended to a results file as runs of their own (suite = peers), so `ringbench
report` and `compare` set them beside ringbench's kernels:

  torch-cudnn    PyTorch SDPA, cuDNN backend
  torch-flash2   PyTorch SDPA, FlashAttention-2 backend
  fa3            FlashAttention-3 (the `fa3-fwd` wheel: forward only), where installed

Timing as ringbench's: random inputs (seeded), warm-up iterations, then CUDA events around each
timed iteration, median reported; FLOPs as ringbench counts them (4 * D per allowed pair, the
backward 2.5 times the forward); NVML's energy counter read around the timed iterations.

usage: peers.py --output FILE [--config INI] [--peers NAMES...] [--KEY VALUES...]
KEY: seq-len batch heads kv-heads head-dim mask (none, causal) dtype (bf16, fp16) pass (fwd, bwd,
fwdbwd) warmup iters seed; a config's `key = value` lines, the command line wins. Lists multiply
out as in ringbench (every combination is a case). A peer that cannot take a case is left out
with the reason.
"""
import argparse
import configparser
import itertools
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_results import BACKWARD_FLOPS_PER_FORWARD, PeerRun, append_runs, forward_flops  # noqa: E402

KEYS = ["seq-len", "batch", "heads", "kv-heads", "head-dim", "mask", "dtype", "pass", "warmup",
        "iters", "seed"]
DEFAULTS = {"seq-len": "16K", "batch": "1", "heads": "32", "kv-heads": "0", "head-dim": "128",
            "mask": "none", "dtype": "bf16", "pass": "fwd", "warmup": "3", "iters": "20", "seed": "42"}
PEERS = ["torch-cudnn", "torch-flash2", "fa3"]


def tokens(text):
    text = text.strip().upper()
    scale = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
    return int(text[:-1] if scale > 1 else text) * scale


def read_config(path):
    values = {}
    if path:
        parser = configparser.ConfigParser()
        with open(path) as f:
            parser.read_string("[case]\n" + f.read())
        for k, v in parser["case"].items():
            values[k] = v.split("#")[0].strip()
    return values


def cases(values):
    lists = [values.get(k, DEFAULTS[k]).split() for k in KEYS]
    for combo in itertools.product(*lists):
        yield dict(zip(KEYS, combo))


def ringbench_config(case, peer):
    """The run's configuration under ringbench's keys (the keys a ringbench run writes)."""
    heads = int(case["heads"])
    kv = int(case["kv-heads"]) or heads
    return {"batch": case["batch"], "heads": str(heads), "kv-heads": str(kv),
            "head-dim": case["head-dim"], "seq-len": str(tokens(case["seq-len"])),
            "dtype": case["dtype"], "mask": case["mask"],
            "softmax-scale": repr(1 / math.sqrt(int(case["head-dim"]))), "layout": "contiguous",
            "device": "cuda", "kernel": peer, "pass": case["pass"], "scheme": "ring", "virtual-ranks": "0",
            "ring-size": "0", "members": "auto", "sample-steps": "0", "gpu": "-1",
            "timeout": "600", "warmup": case["warmup"], "iters": case["iters"], "check": "false",
            "check-rows": "0", "tolerance": "0", "seed": case["seed"], "dump-tensors": "false"}


class Energy:
    """NVML's total-energy counter of the current GPU (None where NVML is missing)."""

    def __init__(self, torch):
        self.handle = None
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        except Exception:  # no NVML: no energy, the times still count
            pass

    def joules(self):
        if self.handle is None:
            return None
        return self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0


def attention_fn(torch, peer, causal, gqa):
    """f(q, k, v) -> out for tensors [B, S, H, D]; or the reason the peer cannot run."""
    if peer == "fa3":
        try:
            from fa3_fwd_interface import flash_attn_func
        except ImportError as e:
            return None, f"FlashAttention-3 not installed ({e})"

        def fa3(q, k, v):
            out = flash_attn_func(q, k, v, causal=causal)
            return out[0] if isinstance(out, tuple) else out
        return fa3, None
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backend = {"torch-cudnn": SDPBackend.CUDNN_ATTENTION, "torch-flash2": SDPBackend.FLASH_ATTENTION}[peer]
    import torch.nn.functional as F

    def sdpa(q, k, v):
        with sdpa_kernel([backend]):
            return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                  is_causal=causal, enable_gqa=gqa).transpose(1, 2)
    return sdpa, None


def time_case(torch, case, peer):
    """A PeerRun of `peer` on `case`, or the reason it cannot run it."""
    if case["mask"] not in ("none", "causal"):
        return None, f"mask {case['mask']}: the peers run none and causal"
    passes = {"fwd": ["forward"], "bwd": ["backward"], "fwdbwd": ["forward", "backward"]}[case["pass"]]
    if peer == "fa3" and "backward" in passes:
        return None, "the fa3-fwd wheel has no backward"
    B, H, D = int(case["batch"]), int(case["heads"]), int(case["head-dim"])
    Hkv, S = int(case["kv-heads"]) or H, tokens(case["seq-len"])
    causal = case["mask"] == "causal"
    fn, why = attention_fn(torch, peer, causal, Hkv != H)
    if fn is None:
        return None, why
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[case["dtype"]]
    gen = torch.Generator(device="cuda").manual_seed(int(case["seed"]))
    make = lambda h: torch.randn(B, S, h, D, device="cuda", dtype=dtype, generator=gen)
    q, k, v = make(H), make(Hkv), make(Hkv)
    grad = "backward" in passes
    if grad:
        for t in (q, k, v):
            t.requires_grad_(True)
    d_o = make(H) if grad else None
    torch.cuda.reset_peak_memory_stats()
    events = lambda: (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
    times = {p: [] for p in passes}
    energy = Energy(torch)
    try:
        for it in range(int(case["warmup"]) + int(case["iters"])):
            timed = it >= int(case["warmup"])
            if it == int(case["warmup"]):
                torch.cuda.synchronize()
                start_j = energy.joules()
            fwd, bwd = events(), events()
            fwd[0].record()
            out = fn(q, k, v)
            fwd[1].record()
            if grad:
                bwd[0].record()
                torch.autograd.backward(out, d_o)
                bwd[1].record()
                q.grad = k.grad = v.grad = None
            torch.cuda.synchronize()
            if timed:
                if "forward" in passes:
                    times["forward"].append(fwd[0].elapsed_time(fwd[1]))
                if grad:
                    times["backward"].append(bwd[0].elapsed_time(bwd[1]))
        end_j = energy.joules()
    except RuntimeError as e:  # the backend refused the shape (head dim, GQA, dtype)
        return None, str(e).splitlines()[0]
    flops = forward_flops(B, H, S, D, causal)
    pass_flops = {p: flops * (BACKWARD_FLOPS_PER_FORWARD if p == "backward" else 1.0) for p in passes}
    extra = {"peak_mem_bytes": float(torch.cuda.max_memory_allocated())}
    window_s = sum(sum(t) for t in times.values()) * 1e-3
    # NVML's counter advances in coarse updates: short windows read 0 J (as ringbench, none below 0.5 s)
    if start_j is not None and end_j is not None and end_j > start_j and window_s >= 0.5:
        extra["energy_j"] = end_j - start_j
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    provenance = {"suite": "peers", "gpu_name": props.name, "device_names": props.name,
                  "torch_version": torch.__version__, "cuda_runtime_version": str(torch.version.cuda),
                  "launcher": "single"}
    if peer == "fa3":
        try:
            from importlib.metadata import version
            provenance["fa3_version"] = version("fa3-fwd")
        except Exception:
            pass
    return PeerRun(ringbench_config(case, peer), times, pass_flops, provenance, extra), None


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True)
    p.add_argument("--config")
    p.add_argument("--peers", nargs="+", default=PEERS, choices=PEERS)
    for key in KEYS:
        p.add_argument("--" + key, nargs="+")
    args = p.parse_args(argv)
    values = read_config(args.config)
    for key in KEYS:
        given = getattr(args, key.replace("-", "_"))
        if given:
            values[key] = " ".join(given)
    return args, values


def main(argv):
    args, values = parse(argv)
    import torch
    if not torch.cuda.is_available():
        print("peers: no GPU: nothing to compare", file=sys.stderr)
        return 77
    runs = []
    print(f"# {'peer':>12} {'seq':>9} {'heads':>6} {'hdim':>4} {'mask':>6} {'pass':>6} "
          f"{'med_ms':>9} {'TFLOP/s':>8} {'J/TF':>6}")
    for case in cases(values):
        for peer in args.peers:
            run, why = time_case(torch, case, peer)
            if run is None:
                print(f"# left out: {peer} on {case['seq-len']} {case['mask']} {case['pass']}: {why}")
                continue
            runs.append(run)
            total = [sum(x) for x in zip(*run.pass_ms.values())]
            med = statistics.median(total)
            tflops = sum(run.pass_flops.values()) / (med * 1e-3) / 1e12
            jtf = ""
            if "energy_j" in run.extra_summary:
                jtf = f"{run.extra_summary['energy_j'] / (sum(run.pass_flops.values()) * len(total) / 1e12):6.2f}"
            heads = f"{run.config['heads']}/{run.config['kv-heads']}"
            print(f"  {peer:>12} {run.config['seq-len']:>9} {heads:>6} {run.config['head-dim']:>4} "
                  f"{case['mask']:>6} {case['pass']:>6} {med:9.3f} {tflops:8.1f} {jtf:>6}", flush=True)
    if runs:
        append_runs(args.output, runs)
        print(f"# {len(runs)} peer run(s) appended to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
