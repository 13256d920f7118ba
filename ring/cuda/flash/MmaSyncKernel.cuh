// The mma.sync m16n8k16 variant (sm_80+, head dim 64 or 128; FlashAttention-2 style): its tile
// configuration, S = Q K^T and O += P V from registers, and its main loop.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/Epilogue.cuh"

namespace ringbench::cuda {
namespace {

// ------------------------------------------------------------------------------------------
// mma.sync configuration
// ------------------------------------------------------------------------------------------
//
// Giving each warp 32 query rows (kMTiles = 2) halves the shared-memory bytes per MMA compared
// with 16 rows per warp: each K/V fragment loaded with ldmatrix feeds four MMAs instead of two.

template <int kD, int kBN, int kWarps, int kMT, int kMinBlocks>
struct MmaConfig {
  static constexpr int kHeadDim = kD;
  static constexpr int kBlockN = kBN;  // keys per K/V tile
  static constexpr int kNumWarps = kWarps;
  static constexpr int kMTiles = kMT;  // 16-row MMA tiles per warp
  static constexpr int kMinBlocksPerSm = kMinBlocks;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kRowsPerWarp = 16 * kMT;
  static constexpr int kBlockM = kWarps * kRowsPerWarp;
  static constexpr int kNTiles = kBN / 8;  // n8 tiles of a score tile
  static constexpr int kDTiles = kD / 8;   // n8 tiles of the output
  static constexpr int kRowBytes = kD * 2;
  static constexpr int kQBytes = kBlockM * kRowBytes;
  static constexpr int kTileBytes = kBN * kRowBytes;
  static constexpr int kStageBytes = 2 * kTileBytes;  // K then V
  static constexpr int kSmemBytes = kQBytes + 2 * kStageBytes;
  static_assert(kD % 64 == 0 && kBN % 16 == 0, "swizzle needs >= 8 chunks of 16 bytes a row");
};

// S = Q K^T for the warp's rows and the kBlockN keys of the tile.
template <class C, typename T>
__device__ __forceinline__ void compute_scores(float (&s)[C::kMTiles][C::kNTiles][4],
                                               uint32_t q_tile, uint32_t k_tile, int warp,
                                               int lane) {
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < C::kNTiles; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) s[mt][nt][c] = 0.f;

  // ldmatrix addressing. Q (A operand): lanes 0-15 give rows 0-15 at the low 8 columns of the
  // k16 slice, lanes 16-31 the same rows at the high 8 -> registers a0..a3 of m16n8k16.
  // K (B operand, stored [key][d] = "col" layout): lanes 0-7 keys 0-7 low d, 8-15 keys 0-7
  // high d, 16-31 the same for keys 8-15 -> b0, b1 of two adjacent n8 tiles.
  // Every row an ldmatrix lane addresses has row % 8 == lane % 8, so the swizzle is a
  // per-lane XOR on the chunk index.
  const int q_row = warp * C::kRowsPerWarp + (lane & 15);
  const int q_xor = (lane >> 4) ^ (lane & 7);
  const int k_row = (lane & 7) + ((lane >> 4) << 3);
  const int k_xor = ((lane >> 3) & 1) ^ (lane & 7);

#pragma unroll
  for (int kc = 0; kc < C::kHeadDim / 16; ++kc) {
    uint32_t a[C::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < C::kMTiles; ++mt)
      ldmatrix_x4(a[mt], q_tile + (q_row + mt * 16) * C::kRowBytes + (((2 * kc) ^ q_xor) << 4));
#pragma unroll
    for (int np = 0; np < C::kNTiles / 2; ++np) {
      uint32_t b[4];
      ldmatrix_x4(b, k_tile + (k_row + np * 16) * C::kRowBytes + (((2 * kc) ^ k_xor) << 4));
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt) {
        ElemOps<T>::mma(s[mt][2 * np], a[mt], b[0], b[1]);
        ElemOps<T>::mma(s[mt][2 * np + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// The S accumulators of two adjacent n8 tiles (k16 step ks) in the A-operand layout of a
// 16-bit MMA (mma.sync m16n8k16 and wgmma with A in registers share it).
template <class C, typename T>
__device__ __forceinline__ void pack_p(uint32_t (&a)[4], const float (&p)[C::kNTiles][4], int ks) {
  a[0] = ElemOps<T>::pack(p[2 * ks][0], p[2 * ks][1]);
  a[1] = ElemOps<T>::pack(p[2 * ks][2], p[2 * ks][3]);
  a[2] = ElemOps<T>::pack(p[2 * ks + 1][0], p[2 * ks + 1][1]);
  a[3] = ElemOps<T>::pack(p[2 * ks + 1][2], p[2 * ks + 1][3]);
}

// O += P V. The S accumulator layout of two adjacent n8 tiles is exactly the A-operand layout
// of one k16 step, so P goes from registers to the MMA without shared memory.
template <class C, typename T>
__device__ __forceinline__ void accumulate_pv(float (&o)[C::kMTiles][C::kDTiles][4],
                                              const float (&p)[C::kMTiles][C::kNTiles][4],
                                              uint32_t v_tile, int lane) {
  // V is stored [key][d] and is the B operand with k = key, so it is read transposed:
  // lanes 0-7 keys 0-7, lanes 8-15 keys 8-15 (both low d), lanes 16-31 the same at high d.
  const int v_row = (lane & 7) + (((lane >> 3) & 1) << 3);
  const int v_xor = (lane >> 4) ^ (lane & 7);
#pragma unroll
  for (int ks = 0; ks < C::kBlockN / 16; ++ks) {
    uint32_t a[C::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < C::kMTiles; ++mt) pack_p<C, T>(a[mt], p[mt], ks);
#pragma unroll
    for (int dp = 0; dp < C::kDTiles / 2; ++dp) {
      uint32_t b[4];
      ldmatrix_x4_trans(b, v_tile + (v_row + ks * 16) * C::kRowBytes + (((2 * dp) ^ v_xor) << 4));
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt) {
        ElemOps<T>::mma(o[mt][2 * dp], a[mt], b[0], b[1]);
        ElemOps<T>::mma(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// The mma.sync kernel
// ------------------------------------------------------------------------------------------

template <class C, typename T>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocksPerSm)
    flash_mma_kernel(const FlashParams p) {
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ int warp_begin[C::kNumWarps], warp_end[C::kNumWarps];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q0 = block_first_row<C::kBlockM>(p);
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / p.group) * p.kv_len;
  const auto* q = static_cast<const uint16_t*>(p.q) + q_row0 * C::kHeadDim;
  const auto* k = static_cast<const uint16_t*>(p.k) + kv_row0 * C::kHeadDim;
  const auto* v = static_cast<const uint16_t*>(p.v) + kv_row0 * C::kHeadDim;

  const uint32_t q_tile = smem_addr(smem);
  const uint32_t kv_stages = q_tile + C::kQBytes;
  TileWalk<C::kBlockN> walk;
  auto load_kv = [&](int tile) {
    const int k0 = walk.k0(tile);
    const uint32_t stage = kv_stages + (tile & 1) * C::kStageBytes;
    const int rows = min(C::kBlockN, p.kv_len - k0);
    load_rows_async<C, C::kBlockN>(stage, k + size_t(k0) * C::kHeadDim, rows);
    load_rows_async<C, C::kBlockN>(stage + C::kTileBytes, v + size_t(k0) * C::kHeadDim, rows);
  };

  // The Q copy overlaps the mask classification.
  load_rows_async<C, C::kBlockM>(q_tile, q, q_rows);
  cp_async_commit();

  const KeyRange range = group_key_range(p, q0, q_rows, warp * C::kRowsPerWarp, C::kRowsPerWarp);
  if (lane == 0) warp_begin[warp] = range.begin, warp_end[warp] = range.end;
  __syncthreads();
  walk = block_walk<C::kBlockN>(p, q0, warp_begin, warp_end);
  const int num_tiles = walk.count;  // masked tiles: never loaded
  if (num_tiles == 0) {              // no query of this block sees any key: o_acc stays untouched
    cp_async_wait_all();
    return;
  }
  load_kv(0);
  cp_async_commit();

  int32_t qpos[C::kMTiles][2];
  WarpState<C> st;
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = min(q0 + warp * C::kRowsPerWarp + mt * 16 + r * 8 + lane / 4, p.q_len - 1);
      qpos[mt][r] = p.uses_positions() ? __ldg(p.q_pos + row) : 0;
      st.m[mt][r] = -INFINITY;
      st.l[mt][r] = 0.f;
#pragma unroll
      for (int dt = 0; dt < C::kDTiles; ++dt) st.o[mt][dt][2 * r] = st.o[mt][dt][2 * r + 1] = 0.f;
    }

  for (int t = 0; t < num_tiles; ++t) {
    cp_async_wait_all();
    __syncthreads();  // tile t is visible to all warps, and all are done with tile t - 1
    if (t + 1 < num_tiles) load_kv(t + 1);  // overwrites tile t - 1's stage; lands during tile t
    cp_async_commit();

    const int k0 = walk.k0(t);
    // warp-uniform: every key of this tile is masked here (or past the block's end)
    if (k0 >= range.end || k0 + C::kBlockN <= range.begin) continue;
    const uint32_t k_tile = kv_stages + (t & 1) * C::kStageBytes;
    float s[C::kMTiles][C::kNTiles][4];
    compute_scores<C, T>(s, q_tile, k_tile, warp, lane);
    if (walk.partial(t, range)) mask_tile<C>(s, p, range, k0, qpos, lane);
    float alpha[C::kMTiles][2];
    softmax_scores<C>(s, st, p.scale_log2, alpha);
    rescale_output<C>(st.o, alpha);
    accumulate_pv<C, T>(st.o, s, k_tile + C::kTileBytes, lane);
  }
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
}

}  // namespace
}  // namespace ringbench::cuda
