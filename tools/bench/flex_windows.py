#!/usr/bin/env python3
"""PyTorch FlexAttention on sliding windows, the peer ringbench's GPU windows are compared with
in the same call: forward TFLOP/s on allowed pairs (4·D per allowed (q, k, head) pair, as
ringbench counts), CUDA events after warm-up, median of 20, random bf16 inputs, batch 1.

usage: flex_windows.py SEQ_LEN [HEADS HEAD_DIM]   (windows: causal 4096 keys, symmetric ±2048)"""
import statistics
import sys

import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention


def allowed_pairs(S, left, right):
    # keys q-left .. q+right clipped to [0, S): exact, in closed form per query
    return sum(min(S - 1, q + right) - max(0, q - left) + 1 for q in range(S))


def main():
    S = int(sys.argv[1])
    H = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    D = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    q, k, v = (torch.randn(1, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    attend = torch.compile(flex_attention)
    for name, left, right in (("window:4095:0", 4095, 0), ("window:2048:2048", 2048, 2048)):
        def band(b, h, qi, ki, left=left, right=right):
            return (ki >= qi - left) & (ki <= qi + right)
        mask = create_block_mask(band, None, None, S, S, device="cuda")
        for _ in range(3):
            attend(q, k, v, block_mask=mask)
        times = []
        for _ in range(20):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            attend(q, k, v, block_mask=mask)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        ms = statistics.median(times)
        pairs = allowed_pairs(S, left, right)
        print(f"flex {name} S={S} H={H} D={D}: {ms:.3f} ms, density {pairs / S / S:.4f}, "
              f"{4 * D * H * pairs / (ms * 1e-3) / 1e12:.1f} TFLOP/s")


if __name__ == "__main__":
    main()
