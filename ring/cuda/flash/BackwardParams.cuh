// The backward flash kernels' parameters (passed by value) and what both main loops share: the
// query tiles a key tile visits, its keys' mask positions, P^T and dS^T from the transposed
// scores, the dK/dV epilogue, the A-operand packing, the dq atomics of the mma.sync loop.
// A private part of FlashBackwardKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "flash/BlockAttention.cuh"
#include "flash/PtxPrimitives.cuh"

namespace ringbench::cuda {
namespace {

using namespace ptx;  // cp.async, ldmatrix, ex2, ElemOps, swizzled tiles

constexpr float kLog2e = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

struct BwdParams {
  const void *q, *d_o, *k, *v;
  const float *lse, *delta;
  const int32_t *q_pos, *kv_pos;
  float *dq, *dk, *dv;
  int heads, kv_heads, group;  // group = heads / kv_heads
  int q_len, kv_len;
  float scale;       // softmax_scale: dK and dQ carry it
  float scale_log2;  // softmax_scale * log2(e): P is evaluated with exp2
  bool causal;
  // Mask terms (every pattern but none and causal): the key block visits its listed query
  // tiles and tests the pairs of partial ones with `terms`; tile_entries is nullptr otherwise.
  const int32_t *tile_offsets, *tile_entries, *tile_order;
  PairTerms terms;
  __host__ __device__ bool listed() const { return tile_entries != nullptr; }
};

// dq is shared by every key tile: fire-and-forget vector reductions where the ISA has them.
__device__ __forceinline__ void atomic_add_f2(float* dst, float x, float y) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float2*>(dst), make_float2(x, y));
#else
  atomicAdd(dst, x);
  atomicAdd(dst + 1, y);
#endif
}

// First index in [0, len) whose position is >= value (len when none): 32 probes per round.
__device__ int warp_first_geq(const int32_t* pos, int len, int32_t value) {
  const int lane = threadIdx.x & 31;
  int lo = 0, hi = len;
  while (lo < hi) {
    const int step = (hi - lo + 31) / 32;
    const int idx = lo + (lane + 1) * step - 1;
    const bool below = idx < hi && __ldg(pos + idx) < value;
    const int n = __popc(__ballot_sync(kFullMask, below));  // probes 0..n-1 are below
    const int new_lo = min(lo + n * step, hi);
    if (n < 32) hi = min(hi, lo + (n + 1) * step - 1);
    lo = new_lo;
  }
  return lo;
}

// Accumulators of two adjacent n8 tiles as the A operand of one k16 step.
template <typename T, int kNT>
__device__ __forceinline__ void pack_a(uint32_t (&a)[kNT / 2][4], const float (&x)[kNT][4]) {
#pragma unroll
  for (int ks = 0; ks < kNT / 2; ++ks) {
    a[ks][0] = ElemOps<T>::pack(x[2 * ks][0], x[2 * ks][1]);
    a[ks][1] = ElemOps<T>::pack(x[2 * ks][2], x[2 * ks][3]);
    a[ks][2] = ElemOps<T>::pack(x[2 * ks + 1][0], x[2 * ks + 1][1]);
    a[ks][3] = ElemOps<T>::pack(x[2 * ks + 1][2], x[2 * ks + 1][3]);
  }
}

// The query tiles of kBlockM rows that see some key of the key tile at k0, over every query head
// of its GQA group (iteration it: head it / per_head, tile it % per_head): with tile lists the
// key block's listed tiles (entry >> 1; bit 0 marks a partial one), with a causal mask the
// suffix from the first query at or after the tile's first key (positions increase), else all.
// Every thread of a warp constructs it together (warp_first_geq).
template <bool kListed, int kBlockM>
struct QueryTiles {
  __device__ QueryTiles(const BwdParams& p, int k_block, int k0, int kv_head_)
      : kv_head(kv_head_), group(p.group) {
    const int n_qtiles = (p.q_len + kBlockM - 1) / kBlockM;
    if constexpr (kListed) {
      const int offset = __ldg(p.tile_offsets + k_block);
      list = p.tile_entries + offset;
      per_head = __ldg(p.tile_offsets + k_block + 1) - offset;
    } else {
      if (p.causal) {
        const int q = warp_first_geq(p.q_pos, p.q_len, __ldg(p.kv_pos + k0));
        first = q == p.q_len ? n_qtiles : q / kBlockM;
      }
      per_head = n_qtiles - first;
    }
    count = per_head * p.group;
  }
  // Iteration it's query head and first row.
  __device__ void tile(int it, int& h, int& q0) const {
    h = kv_head * group + it / per_head;
    const int t = it % per_head;
    q0 = (kListed ? __ldg(list + t) >> 1 : first + t) * kBlockM;
  }
  // With tile lists: whether iteration it's tile needs the per-pair test.
  __device__ bool partial(int it) const { return __ldg(list + it % per_head) & 1; }

  const int32_t* list = nullptr;  // with tile lists: this key block's query tiles
  int first = 0, per_head = 0, count = 0;
  int kv_head, group;
};

// The mask positions of a thread's two keys k0 + first_key + lane / 4 (+ 8): INT_MAX past
// kv_len (never allowed), INT_MIN without a mask (always allowed).
template <bool kListed>
__device__ __forceinline__ void key_positions(int32_t (&kpos)[2], const BwdParams& p, int key0) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = key0 + 8 * r;
    kpos[r] = key >= p.kv_len ? INT_MAX : p.causal || kListed ? __ldg(p.kv_pos + key) : INT_MIN;
  }
}

// P^T = exp2(S^T·scale·log2e - LSE·log2e) over a thread's accumulators of a key x query tile:
// rows its two keys (kpos), columns 8 n + 2 (lane % 4) + {0, 1} of the query tile's statistics
// (rows without gradient carry LSE +inf and position INT_MIN, so their P is 0 anyway). Where
// `masked`, the pairs the mask forbids are 0.
template <bool kListed, int kNT>
__device__ __forceinline__ void probabilities(float (&s)[kNT][4], const BwdParams& p,
                                              const float* lse_log2, const int32_t* qpos_of,
                                              const int32_t (&kpos)[2], bool masked, int q4) {
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) {
    const int col = 8 * nt + 2 * q4;
    const float2 l2 = *reinterpret_cast<const float2*>(lse_log2 + col);
    const int2 qp = *reinterpret_cast<const int2*>(qpos_of + col);
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      float pr = fast_exp2(fmaf(s[nt][c], p.scale_log2, (c & 1) ? -l2.y : -l2.x));
      const int32_t qpos = (c & 1) ? qp.y : qp.x, key_pos = kpos[c >> 1];
      if (masked &&
          (kListed ? key_pos == INT_MAX || qpos == INT_MIN || !terms_allow(p.terms, qpos, key_pos)
                   : key_pos > qpos))
        pr = 0.f;
      s[nt][c] = pr;
    }
  }
}

// dS^T = P^T ∘ (dP^T - D), in dP^T's registers; columns as above.
template <int kNT>
__device__ __forceinline__ void score_gradients(float (&dp)[kNT][4], const float (&pr)[kNT][4],
                                                const float* delta, int q4) {
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) {
    const float2 dl = *reinterpret_cast<const float2*>(delta + 8 * nt + 2 * q4);
#pragma unroll
    for (int c = 0; c < 4; ++c) dp[nt][c] = pr[nt][c] * (dp[nt][c] - ((c & 1) ? dl.y : dl.x));
  }
}

// A thread's dK (scaled) and dV rows: keys key0 + lane / 4 (+ 8) of the tile, columns
// 8 n + 2 (lane % 4) + {0, 1}; every key below k_rows is written, zeros included.
template <int kDTiles>
__device__ __forceinline__ void write_key_gradients(const BwdParams& p,
                                                    const float (&dk)[kDTiles][4],
                                                    const float (&dv)[kDTiles][4], size_t kv_row0,
                                                    int key0, int k_rows, int lane) {
  constexpr int D = 8 * kDTiles;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = key0 + 8 * r;
    if (key >= k_rows) continue;
    float* out_k = p.dk + (kv_row0 + key) * D + 2 * (lane & 3);
    float* out_v = p.dv + (kv_row0 + key) * D + 2 * (lane & 3);
#pragma unroll
    for (int nt = 0; nt < kDTiles; ++nt) {
      *reinterpret_cast<float2*>(out_k + 8 * nt) =
          make_float2(p.scale * dk[nt][2 * r], p.scale * dk[nt][2 * r + 1]);
      *reinterpret_cast<float2*>(out_v + 8 * nt) = make_float2(dv[nt][2 * r], dv[nt][2 * r + 1]);
    }
  }
}

}  // namespace
}  // namespace ringbench::cuda
