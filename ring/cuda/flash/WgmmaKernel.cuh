// The wgmma variant with cp.async loads (sm_90a, head dim 128): every thread copies, a block
// barrier per tile. The simpler twin of the TMA variant, kept for cross-checking.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/WgmmaPrimitives.cuh"

namespace ringbench::cuda {
namespace {

template <typename T>
__global__ void __launch_bounds__(WgmmaConfig::kThreads, 1)
    flash_wgmma_kernel(const FlashParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using C = WgmmaConfig;
  extern __shared__ uint8_t smem_raw[];
  __shared__ int group_begin[2], group_end[2];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = threadIdx.x / 128;
  const int q0 = block_first_row<C::kBlockM>(p);
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / p.group) * p.kv_len;
  const auto* q = static_cast<const uint16_t*>(p.q) + q_row0 * C::kHeadDim;
  const auto* k = static_cast<const uint16_t*>(p.k) + kv_row0 * C::kHeadDim;
  const auto* v = static_cast<const uint16_t*>(p.v) + kv_row0 * C::kHeadDim;

  // Swizzle atoms must sit on 1024-byte boundaries.
  const uint32_t q_tile = (smem_addr(smem_raw) + 1023) & ~1023u;
  const uint32_t k_stages = q_tile + C::kQBytes;
  const uint32_t v_stages = k_stages + 2 * C::kTileBytes;
  TileWalk<C::kBlockN> walk;
  auto load_k = [&](int tile) {
    const int k0 = walk.k0(tile);
    load_rows_cb_async<C::kBlockN>(k_stages + (tile & 1) * C::kTileBytes,
                                   k + size_t(k0) * C::kHeadDim, min(C::kBlockN, p.kv_len - k0));
  };
  auto load_v = [&](int tile) {
    const int k0 = walk.k0(tile);
    load_rows_cb_async<C::kBlockN>(v_stages + (tile & 1) * C::kTileBytes,
                                   v + size_t(k0) * C::kHeadDim, min(C::kBlockN, p.kv_len - k0));
  };

  load_rows_cb_async<C::kBlockM>(q_tile, q, q_rows);
  cp_async_commit();
  // Mask classification per warpgroup (uniform over its warps, as wgmma requires).
  const KeyRange range = group_key_range(p, q0, q_rows, group * C::kGroupRows, C::kGroupRows);
  if (threadIdx.x % 128 == 0) group_begin[group] = range.begin, group_end[group] = range.end;
  __syncthreads();
  walk = block_walk<C::kBlockN>(p, q0, group_begin, group_end);
  const int num_tiles = walk.count;
  if (num_tiles == 0) {
    cp_async_wait_all();
    return;
  }
  load_k(0);
  cp_async_commit();

  int32_t qpos[1][2];
  WarpState<C> st;
  float s[1][16][4];
  uint32_t p_frag[8][4];  // P of the previous tile, A fragments of 8 k16 steps
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = min(q0 + warp * C::kRowsPerWarp + r * 8 + lane / 4, p.q_len - 1);
    qpos[0][r] = p.uses_positions() ? __ldg(p.q_pos + row) : 0;
    st.m[0][r] = -INFINITY;
    st.l[0][r] = 0.f;
  }
#pragma unroll
  for (int i = 0; i < 16; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) st.o[0][i][c] = s[0][i][c] = 0.f;
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) p_frag[i][c] = 0u;

  const uint32_t q_group = q_tile + group * C::kGroupRows * 128;
  auto k_stage = [&](int tile) { return k_stages + (tile & 1) * C::kTileBytes; };
  auto v_stage = [&](int tile) { return v_stages + (tile & 1) * C::kTileBytes; };
  // Publish K(t) and V(t-1), then start copying K(t+1) and V(t) into the stages of K(t-1)
  // and V(t-2), which every warpgroup has finished with once it passes the barrier.
  auto begin_tile = [&](int t) {
    cp_async_wait_all();
    fence_proxy_async();
    __syncthreads();
    if (t + 1 < num_tiles) load_k(t + 1);
    if (t < num_tiles) load_v(t);
    cp_async_commit();
  };
  auto softmax_tile = [&](int t, float(&alpha)[1][2]) {
    fence_registers(s[0]);
    if (walk.partial(t, range)) mask_tile<C>(s, p, range, walk.k0(t), qpos, lane);
    softmax_scores<C>(s, st, p.scale_log2, alpha);
  };
  auto pack_all = [&] {
#pragma unroll
    for (int ks = 0; ks < 8; ++ks) pack_p<C, T>(p_frag[ks], s[0], ks);
  };

  // Every warpgroup runs every tile of the block, so that all wgmma sit in uniform control
  // flow (ptxas serializes wgmma in divergent code). Tiles past a warpgroup's own key range
  // are fully masked and leave its state unchanged. Tile 0 has no P V product to overlap.
  float alpha[1][2];
  begin_tile(0);
  issue_scores<C, T>(s[0], q_group, k_stage(0));
  wgmma_wait<0>();
  softmax_tile(0, alpha);  // O is still 0: no rescale
  pack_all();
  for (int t = 1; t < num_tiles; ++t) {
    begin_tile(t);
    issue_scores<C, T>(s[0], q_group, k_stage(t));
    issue_pv<C, T>(st.o[0], p_frag, v_stage(t - 1));
    wgmma_wait<1>();  // S(t) is done; the P V product may still run during the softmax
    softmax_tile(t, alpha);
    wgmma_wait<0>();
    fence_registers(st.o[0]);
    fence_registers(p_frag);
    rescale_output<C>(st.o, alpha);
    pack_all();
  }
  begin_tile(num_tiles);  // publishes V(num_tiles - 1); copies nothing
  issue_pv<C, T>(st.o[0], p_frag, v_stage(num_tiles - 1));
  wgmma_wait<0>();
  fence_registers(st.o[0]);
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
#else
  __trap();  // built without sm_90a: the host never selects this kernel then
#endif
}

}  // namespace
}  // namespace ringbench::cuda
