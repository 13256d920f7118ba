// The warp-specialized wgmma variant (sm_90a, head dim 128 or 64): a TMA producer warpgroup and
// two ping-pong consumer warpgroups, for key tiles of 128 or 176 keys (one kernel template).
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/TmaPrimitives.cuh"
#include "flash/WgmmaKernel.cuh"

namespace ringbench::cuda {
namespace {

// ------------------------------------------------------------------------------------------
// Warp-specialized wgmma variant (sm_90a): a producer warpgroup streams Q/K/V with TMA
// ------------------------------------------------------------------------------------------
//
// Same math and shared-memory layout as flash_wgmma_kernel, for a tile configuration C =
// WgmmaTileConfig<kBlockN> of any key-tile width, but the tiles arrive by the tensor-memory
// accelerator (cp.async.bulk.tensor with the 128-byte swizzle) issued by one thread of a third
// warpgroup, and completion is tracked by mbarriers (full: data landed; empty: both warpgroups
// are done with a stage). The two consumer warpgroups never meet at a block barrier inside the
// loop, so one can run its softmax while the other keeps the tensor cores busy, and no consumer
// thread spends registers or issue slots on copies. TMA also zero-fills rows past q_len /
// kv_len: the last key tile may reach past kv_len (kv_len need not be a multiple of kBlockN);
// its keys there read as zeros, and the tile counts as partial (range.end <= kv_len), so the
// mask sets their scores to -inf and P to 0.

struct TmaMaps {
  CUtensorMap q, k, v;  // 3D: (d, row, batch * heads), boxes of 64 d x 128 (Q) or kBlockN rows
};

// Warpgroups 0-1 consume, warpgroup 2 produces (one thread of it issues all copies). A
// producer warp alone would cost the same registers: ptxas budgets whole warpgroups. So the
// producer gives its registers to the consumers with setmaxnreg (see TmaRegisterSplit).
// Named barriers 1 and 2 order the two consumer warpgroups' wgmma issue (ping-pong): while
// one warpgroup runs its softmax, the tensor cores work through the other's products.
constexpr int kTmaConsumerWarps = 8;
constexpr int kTmaThreads = 384;

// The block starts with 168 registers a thread, the most __launch_bounds__(384, 1) allows
// (65536 / 384 rounded down to 8; ptxas gives a kernel with setmaxnreg all of them), and
// setmaxnreg only moves registers within that pool: 128 x producer + 256 x consumer <= 384 x 168.
// A consumer thread holds O (64 fp32), S (kBlockN / 2 fp32) and P (kBlockN / 4 words) at once:
// 160 registers at 128 keys, 196 at 176 keys. The wider tile takes FlashAttention-3's 24 / 240
// split (the producer's loop fits in 24); 128 keys keep 40 / 232.
template <class C>
struct TmaRegisterSplit {
  static constexpr int kBlock = 168;
  static constexpr int kConsumer = C::kBlockN > 128 ? 240 : 232;
  static constexpr int kProducer = (kTmaThreads * kBlock - 256 * kConsumer) / 128;
  static_assert(kProducer >= 24 && kProducer % 8 == 0 && kConsumer % 8 == 0 && kConsumer <= 256,
                "setmaxnreg takes multiples of 8 in [24, 256]");
};

template <class C, typename T, bool kPingPong>
__global__ void __launch_bounds__(kTmaThreads, 1)
    flash_wgmma_tma_kernel(const FlashParams p, const __grid_constant__ TmaMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using Regs = TmaRegisterSplit<C>;
  extern __shared__ uint8_t smem_raw[];
  __shared__ int group_begin[2], group_end[2];
  // Barriers: 0 Q full; 1-2 K full; 3-4 K empty; 5-6 V full; 7-8 V empty (per stage).
  __shared__ __align__(8) uint64_t barriers[9];
  constexpr int kQFull = 0, kKFull = 1, kKEmpty = 3, kVFull = 5, kVEmpty = 7;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = threadIdx.x / 128;
  const int q0 = block_first_row<C::kBlockM>(p);
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;

  const uint32_t q_tile = (smem_addr(smem_raw) + 1023) & ~1023u;  // swizzle atoms: 1024 B
  const uint32_t k_stages = q_tile + C::kQBytes;
  const uint32_t v_stages = k_stages + 2 * C::kTileBytes;
  const uint32_t bar0 = smem_addr(barriers);
  auto bar = [&](int i) { return bar0 + 8u * i; };
  auto k_stage = [&](int tile) { return k_stages + (tile & 1) * C::kTileBytes; };
  auto v_stage = [&](int tile) { return v_stages + (tile & 1) * C::kTileBytes; };

  if (threadIdx.x == 0) {
    mbar_init(bar(kQFull), 1);
    for (int s = 0; s < 2; ++s) {
      mbar_init(bar(kKFull + s), 1);
      mbar_init(bar(kVFull + s), 1);
      mbar_init(bar(kKEmpty + s), kTmaConsumerWarps);  // one arrival per consumer warp
      mbar_init(bar(kVEmpty + s), kTmaConsumerWarps);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  KeyRange range{0, 0, 0, 0};
  if (group < 2) {
    range = group_key_range(p, q0, q_rows, group * C::kGroupRows, C::kGroupRows);
    if (threadIdx.x % 128 == 0) group_begin[group] = range.begin, group_end[group] = range.end;
  }
  __syncthreads();  // the only block-wide barrier: barriers initialized, key ranges known
  const TileWalk<C::kBlockN> walk = block_walk<C::kBlockN>(p, q0, group_begin, group_end);
  const int num_tiles = walk.count;
  if (num_tiles == 0) return;  // no query of this block sees any key: o_acc stays untouched

  if (group == 2) {  // producer warpgroup
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Regs::kProducer));
    if (threadIdx.x != 256) return;
    const int q_head = batch * p.heads + head;
    const int kv_head = batch * p.kv_heads + head / p.group;
    mbar_expect_tx(bar(kQFull), C::kQBytes);
#pragma unroll
    for (int cb = 0; cb < C::kColBlocks; ++cb)  // one box per 64-column block
      tma_load_3d(q_tile + cb * C::kQColBlock, &maps.q, 64 * cb, q0, q_head, bar(kQFull));
    for (int t = 0; t < num_tiles; ++t) {
      const int stage = t & 1, row = walk.k0(t);
      const uint32_t reuse_parity = ((t >> 1) + 1) & 1;  // release of tile t - 2
      if (t >= 2) mbar_wait(bar(kKEmpty + stage), reuse_parity);
      mbar_expect_tx(bar(kKFull + stage), C::kTileBytes);
#pragma unroll
      for (int cb = 0; cb < C::kColBlocks; ++cb)
        tma_load_3d(k_stage(t) + cb * C::kKVColBlock, &maps.k, 64 * cb, row, kv_head,
                    bar(kKFull + stage));
      if (t >= 2) mbar_wait(bar(kVEmpty + stage), reuse_parity);
      mbar_expect_tx(bar(kVFull + stage), C::kTileBytes);
#pragma unroll
      for (int cb = 0; cb < C::kColBlocks; ++cb)
        tma_load_3d(v_stage(t) + cb * C::kKVColBlock, &maps.v, 64 * cb, row, kv_head,
                    bar(kVFull + stage));
    }
    return;
  }
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Regs::kConsumer));

  // Consumers: warpgroup `group` owns rows [64 group, 64 group + 64) of the block.
  int32_t qpos[1][2];
  WarpState<C> st;
  float s[1][C::kNTiles][4];
  uint32_t p_frag[C::kPSteps][4];  // P of the previous tile, A fragments of its k16 steps
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = min(q0 + warp * C::kRowsPerWarp + r * 8 + lane / 4, p.q_len - 1);
    qpos[0][r] = p.uses_positions() ? __ldg(p.q_pos + row) : 0;
    st.m[0][r] = -INFINITY;
    st.l[0][r] = 0.f;
  }
#pragma unroll
  for (int i = 0; i < C::kDTiles; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) st.o[0][i][c] = 0.f;
#pragma unroll
  for (int i = 0; i < C::kNTiles; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) s[0][i][c] = 0.f;

  const uint32_t q_group = q_tile + group * C::kGroupRows * 128;
  auto wait_full = [&](int first, int tile) {
    mbar_wait(bar(first + (tile & 1)), (tile >> 1) & 1);
  };
  auto release = [&](int first, int tile) {
    if (lane == 0) mbar_arrive(bar(first + (tile & 1)));  // this warp's wgmma reads are done
  };
  auto softmax_tile = [&](int t, float(&alpha)[1][2]) {
    fence_registers(s[0]);
    if (walk.partial(t, range)) mask_tile<C>(s, p, range, walk.k0(t), qpos, lane);
    softmax_scores<C>(s, st, p.scale_log2, alpha);
  };
  auto pack_all = [&] {
#pragma unroll
    for (int ks = 0; ks < C::kPSteps; ++ks) pack_p<C, T>(p_frag[ks], s[0], ks);
  };

  // Ping-pong: a warpgroup issues its products only after the other one has issued its own
  // (barrier 1 + g is "group g may issue"). Group 1 lets group 0 start. Each group issues
  // num_tiles + 1 times; group 1 skips its last hand-over so every arrive meets a sync.
  auto my_turn = [&] {
    if constexpr (kPingPong) named_barrier_sync(1 + group, 256);
  };
  auto hand_over = [&](bool last) {
    if constexpr (kPingPong)
      if (!(last && group == 1)) named_barrier_arrive(2 - group, 256);
  };
  if constexpr (kPingPong)
    if (group == 1) named_barrier_arrive(1, 256);

  // As in flash_wgmma_kernel, both warpgroups run every tile of the block (uniform control
  // flow around wgmma); tiles past a warpgroup's key range are fully masked.
  float alpha[1][2];
  mbar_wait(bar(kQFull), 0);
  wait_full(kKFull, 0);
  my_turn();
  issue_scores<C, T>(s[0], q_group, k_stage(0));
  hand_over(false);
  wgmma_wait<0>();
  release(kKEmpty, 0);
  softmax_tile(0, alpha);  // O is still 0: no rescale
  pack_all();
  for (int t = 1; t < num_tiles; ++t) {
    wait_full(kKFull, t);
    wait_full(kVFull, t - 1);
    my_turn();
    issue_scores<C, T>(s[0], q_group, k_stage(t));
    issue_pv<C, T>(st.o[0], p_frag, v_stage(t - 1));
    hand_over(false);
    wgmma_wait<1>();  // S(t) is done; the P V product may still run during the softmax
    release(kKEmpty, t);
    softmax_tile(t, alpha);
    wgmma_wait<0>();
    fence_registers(st.o[0]);
    fence_registers(p_frag);
    release(kVEmpty, t - 1);
    rescale_output<C>(st.o, alpha);
    pack_all();
  }
  wait_full(kVFull, num_tiles - 1);
  my_turn();
  issue_pv<C, T>(st.o[0], p_frag, v_stage(num_tiles - 1));
  hand_over(true);
  wgmma_wait<0>();
  fence_registers(st.o[0]);
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
#else
  __trap();  // built without sm_90a: the host never selects this kernel then
#endif
}

}  // namespace
}  // namespace ringbench::cuda
