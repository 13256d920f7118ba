#!/usr/bin/env python3
"""PyTorch FlexAttention on ringbench's sparse patterns, the peer its GPU kernels are compared with
in the same call: forward TFLOP/s on allowed pairs (4·D per allowed (q, k, head) pair, as
ringbench counts), CUDA events after warm-up, median of 20, random bf16 inputs, batch 1.

usage: flex_patterns.py SEQ_LEN [HEADS HEAD_DIM [SPEC ...]]
SPEC: window:L:R, longformer:L:R:G, bigbird:B:W:G:N, blocksparse:B:DENSITY (default: the windows,
blocksparse:128:0.1 and bigbird:128:33:1:3). The random patterns are FlexAttention's own draw of
the same pattern (torch's generator, seed 0): the same density and structure, not ringbench's
exact blocks (which need not matter for speed); their allowed pairs are counted from the mask
FlexAttention runs."""
import statistics
import sys

import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

DEFAULT_SPECS = ["window:4095:0", "window:2048:2048", "blocksparse:128:0.1", "bigbird:128:33:1:3"]


def block_map(spec, S):
    """(block, kept[i][j]) for the random block patterns, on the GPU."""
    parts = spec.split(":")
    B = int(parts[1])
    n = S // B
    gen = torch.Generator(device="cuda").manual_seed(0)
    eye = torch.eye(n, dtype=torch.bool, device="cuda")
    if parts[0] == "blocksparse":
        kept = (torch.rand(n, n, generator=gen, device="cuda") < float(parts[2])) | eye
    else:  # bigbird:B:W:G:N: window of W blocks, G global blocks, N random blocks per row
        W, G, N = int(parts[2]), int(parts[3]), int(parts[4])
        i = torch.arange(n, device="cuda")
        kept = (i[:, None] - i[None, :]).abs() <= (W - 1) // 2
        kept |= (i[:, None] < G) | (i[None, :] < G)
        scores = torch.rand(n, n, generator=gen, device="cuda").masked_fill(kept, 2.0)
        drawn = scores.topk(N, dim=1, largest=False).indices  # N random blocks not yet kept
        kept |= torch.zeros_like(kept).scatter_(1, drawn, True)
    return B, kept


def mask_mod_of(spec, S):
    kind, *fields = spec.split(":")
    if kind == "window":
        left, right = map(int, fields)
        return lambda b, h, q, k: (k >= q - left) & (k <= q + right)
    if kind == "longformer":
        left, right, G = map(int, fields)
        return lambda b, h, q, k: ((k >= q - left) & (k <= q + right)) | (q < G) | (k < G)
    B, kept = block_map(spec, S)
    return lambda b, h, q, k: kept[q // B, k // B]


def allowed_pairs(mask_mod, S):
    q = torch.arange(S, device="cuda")
    total = 0
    for k0 in range(0, S, 4096):  # in slices: S x S booleans would not fit
        k = torch.arange(k0, min(S, k0 + 4096), device="cuda")
        total += int(mask_mod(0, 0, q[:, None], k[None, :]).sum())
    return total


def main():
    S = int(sys.argv[1])
    H = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    D = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    specs = sys.argv[4:] or DEFAULT_SPECS
    q, k, v = (torch.randn(1, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    attend = torch.compile(flex_attention)
    for spec in specs:
        mask_mod = mask_mod_of(spec, S)
        mask = create_block_mask(mask_mod, None, None, S, S, device="cuda")
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
        pairs = allowed_pairs(mask_mod, S)
        print(f"flex {spec} S={S} H={H} D={D}: {ms:.3f} ms, density {pairs / S / S:.4f}, "
              f"{4 * D * H * pairs / (ms * 1e-3) / 1e12:.1f} TFLOP/s", flush=True)


if __name__ == "__main__":
    main()
