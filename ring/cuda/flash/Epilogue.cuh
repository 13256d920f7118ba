// The epilogue every variant shares: normalize the block's result and merge it into the running
// (o_acc, lse_acc), reading and writing them once.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/Softmax.cuh"

namespace ringbench::cuda {
namespace {

// Normalize the block result and merge it into (o_acc, lse_acc):
//   L = logaddexp(L_acc, L_blk);  O = O_acc * exp(L_acc - L) + O_blk * exp(L_blk - L).
// Rows without any allowed key (l == 0) and rows past q_len are left untouched.
template <class C>
__device__ __forceinline__ void write_merged(WarpState<C>& st, const FlashParams& p, size_t q_row0,
                                             int q_rows, int warp, int lane) {
  float lse_old[C::kMTiles][2];
  bool active[C::kMTiles][2];
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float l = st.l[mt][r];
      l += __shfl_xor_sync(kFullMask, l, 1);
      l += __shfl_xor_sync(kFullMask, l, 2);
      st.l[mt][r] = l;
      const int row = warp * C::kRowsPerWarp + mt * 16 + r * 8 + lane / 4;
      active[mt][r] = row < q_rows && l > 0.f;
      lse_old[mt][r] = active[mt][r] ? p.lse_acc[q_row0 + row] : 0.f;
    }
  __syncwarp();  // the whole quad has read lse_acc before its first lane overwrites it

#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if (!active[mt][r]) continue;
      const int row = warp * C::kRowsPerWarp + mt * 16 + r * 8 + lane / 4;
      const float lse_blk = (st.m[mt][r] + log2f(st.l[mt][r])) * kLn2;
      const bool fresh = lse_old[mt][r] == -INFINITY;  // o_acc holds nothing (maybe garbage)
      float lse_new = lse_blk, w_old = 0.f;
      if (!fresh) {
        const float hi = fmaxf(lse_old[mt][r], lse_blk), lo = fminf(lse_old[mt][r], lse_blk);
        lse_new = hi + log1pf(expf(lo - hi));
        w_old = expf(lse_old[mt][r] - lse_new);
      }
      const float w_blk = expf(lse_blk - lse_new) / st.l[mt][r];
      float2* out = reinterpret_cast<float2*>(p.o_acc + (q_row0 + row) * C::kHeadDim) + (lane & 3);
      if (fresh) {
#pragma unroll
        for (int dt = 0; dt < C::kDTiles; ++dt)
          out[dt * 4] = make_float2(st.o[mt][dt][2 * r] * w_blk, st.o[mt][dt][2 * r + 1] * w_blk);
      } else {
        float2 old[C::kDTiles];
#pragma unroll
        for (int dt = 0; dt < C::kDTiles; ++dt) old[dt] = out[dt * 4];
#pragma unroll
        for (int dt = 0; dt < C::kDTiles; ++dt)
          out[dt * 4] = make_float2(fmaf(old[dt].x, w_old, st.o[mt][dt][2 * r] * w_blk),
                                    fmaf(old[dt].y, w_old, st.o[mt][dt][2 * r + 1] * w_blk));
      }
      if ((lane & 3) == 0) p.lse_acc[q_row0 + row] = lse_new;
    }
}

}  // namespace
}  // namespace ringbench::cuda
