#!/usr/bin/env python3
"""LongNet's dilated attention the way its reference implementations run it, the peer ringbench's
GPU dilated attention is compared with in the same call: for one (segment W, rate r) pair, each
head's selected rows (offset head mod r, every r-th token of a segment) gathered with torch
indexing, PyTorch scaled_dot_product_attention (cuDNN backend, else the default) on the
segments as a batch, the output scattered back. Forward TFLOP/s on allowed pairs (4·D per
(q, k, head) pair: S·W/r² pairs per head), gather and scatter included, CUDA events after
warm-up, median of 20, random bf16, batch 1.

usage: longnet_gather.py SEQ_LEN W R [HEADS HEAD_DIM]"""
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def dilated_forward(q, k, v, W, R, out):
    _, H, S, D = q.shape
    heads = torch.arange(H, device=q.device)
    rows = torch.arange(0, W, R, device=q.device)  # selected rows of a segment, offset 0
    seg = torch.arange(0, S, W, device=q.device)
    # index [H, segments, W/R]: head h takes rows h mod R + R j of every segment
    index = seg[None, :, None] + rows[None, None, :] + (heads % R)[:, None, None]
    flat = index.reshape(H, -1)

    def gather(x):
        g = torch.gather(x[0], 1, flat[:, :, None].expand(-1, -1, D))  # [H, S/R, D]
        return g.view(H, S // W, W // R, D).transpose(0, 1)  # segments as the batch

    o = F.scaled_dot_product_attention(gather(q), gather(k), gather(v))
    out[0].scatter_(1, flat[:, :, None].expand(-1, -1, D), o.transpose(0, 1).reshape(H, -1, D))


def main():
    S, W, R = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    H = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    D = int(sys.argv[5]) if len(sys.argv) > 5 else 128
    q, k, v = (torch.randn(1, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    out = torch.zeros_like(q)
    for backend in (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION):
        try:
            with sdpa_kernel(backend):
                for _ in range(3):
                    dilated_forward(q, k, v, W, R, out)
                times = []
                for _ in range(20):
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record()
                    dilated_forward(q, k, v, W, R, out)
                    end.record()
                    torch.cuda.synchronize()
                    times.append(start.elapsed_time(end))
        except RuntimeError as e:
            print(f"longnet-gather {backend.name}: not available ({str(e).splitlines()[0]})")
            continue
        ms = statistics.median(times)
        pairs = S * W // (R * R)
        print(f"longnet-gather {backend.name} dilated:{W}:{R} S={S} H={H} D={D}: {ms:.3f} ms, "
              f"density {pairs / S / S:.4f}, {4 * D * H * pairs / (ms * 1e-3) / 1e12:.1f} TFLOP/s",
              flush=True)


if __name__ == "__main__":
    main()
