// The per-warp online softmax shared by every variant: the running max and sum, partial tiles'
// masks (band or mask terms), S -> P = exp2(S * c - m) and the rescaling of the output.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/TileScheduler.cuh"

namespace ringbench::cuda {
namespace {

// ------------------------------------------------------------------------------------------
// Per-warp math
// ------------------------------------------------------------------------------------------

template <class C>
struct WarpState {
  float o[C::kMTiles][C::kDTiles][4];  // unnormalized output accumulators (MMA C layout)
  float m[C::kMTiles][2];              // running max of scaled scores (log2 units), rows g, g+8
  float l[C::kMTiles][2];              // running sum of exp2, partial over this thread's columns
};

// Set disallowed scores of a partially masked tile to -inf. Thread lane holds columns
// 8 * nt + 2 * (lane % 4) + {0, 1} of rows g = lane / 4 and g + 8 of each m16 tile.
template <class C>
__device__ __forceinline__ void apply_mask(float (&s)[C::kMTiles][C::kNTiles][4],
                                           const FlashParams& p, KeyRange range, int k0,
                                           const int32_t (&qpos)[C::kMTiles][2], int lane) {
#pragma unroll
  for (int nt = 0; nt < C::kNTiles; ++nt) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int col = k0 + nt * 8 + 2 * (lane & 3) + c;
      const bool in_range = col >= range.begin && col < range.end;
      const bool check_pos = p.banded && (col < range.full_begin || col >= range.full_end);
      const int32_t kpos = (in_range && check_pos) ? __ldg(p.kv_pos + col) : 0;
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          // positions are below 2^31, so their difference fits an int
          const bool allowed = in_range && (!check_pos || (kpos - qpos[mt][r] <= p.band_right &&
                                                           qpos[mt][r] - kpos <= p.band_left));
          if (!allowed) s[mt][nt][2 * r + c] = -INFINITY;
        }
    }
  }
}

// The same under mask terms: every pair of the tile judged by the terms, columns past kv_len
// disallowed.
template <class C>
__device__ __forceinline__ void apply_terms_mask(float (&s)[C::kMTiles][C::kNTiles][4],
                                                 const FlashParams& p, int k0,
                                                 const int32_t (&qpos)[C::kMTiles][2], int lane) {
#pragma unroll
  for (int nt = 0; nt < C::kNTiles; ++nt) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int col = k0 + nt * 8 + 2 * (lane & 3) + c;
      const bool in_block = col < p.kv_len;
      const int32_t kpos = in_block ? __ldg(p.kv_pos + col) : 0;
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r)
          if (!(in_block && terms_allow(p.terms, qpos[mt][r], kpos)))
            s[mt][nt][2 * r + c] = -INFINITY;
    }
  }
}

// A partial tile's mask, whichever form the block's mask takes (no mask terms for tiles that
// cannot walk tile lists, see TileWalk).
template <class C>
__device__ __forceinline__ void mask_tile(float (&s)[C::kMTiles][C::kNTiles][4],
                                          const FlashParams& p, KeyRange range, int k0,
                                          const int32_t (&qpos)[C::kMTiles][2], int lane) {
  if (TileWalk<C::kBlockN>::kWalksLists && p.listed())
    apply_terms_mask<C>(s, p, k0, qpos, lane);
  else
    apply_mask<C>(s, p, range, k0, qpos, lane);
}

// Online softmax step: new running max and sum, S -> P = exp2(S * c - m), and the factor
// alpha = exp2(m_old - m_new) by which the output accumulators must be rescaled.
template <class C>
__device__ __forceinline__ void softmax_scores(float (&s)[C::kMTiles][C::kNTiles][4],
                                               WarpState<C>& st, float scale_log2,
                                               float (&alpha)[C::kMTiles][2]) {
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < C::kNTiles; ++nt)
        mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
      // The 4 lanes of a quad hold one row.
      mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 2));
      const float m_new = fmaxf(st.m[mt][r], mx * scale_log2);  // scale > 0 keeps the argmax
      // While every key so far is masked, m_new is -inf: subtract 0 instead so exp2 gives 0
      // rather than NaN.
      const float m_base = m_new == -INFINITY ? 0.f : m_new;
      alpha[mt][r] = fast_exp2(st.m[mt][r] - m_base);
      st.m[mt][r] = m_new;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < C::kNTiles; ++nt)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float e = fast_exp2(fmaf(s[mt][nt][2 * r + c], scale_log2, -m_base));
          s[mt][nt][2 * r + c] = e;
          sum += e;
        }
      st.l[mt][r] = st.l[mt][r] * alpha[mt][r] + sum;
    }
  }
}

template <class C>
__device__ __forceinline__ void rescale_output(float (&o)[C::kMTiles][C::kDTiles][4],
                                               const float (&alpha)[C::kMTiles][2]) {
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int dt = 0; dt < C::kDTiles; ++dt)
#pragma unroll
      for (int c = 0; c < 4; ++c) o[mt][dt][c] *= alpha[mt][c / 2];
}

}  // namespace
}  // namespace ringbench::cuda
