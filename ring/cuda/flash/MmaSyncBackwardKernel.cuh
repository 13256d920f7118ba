// The mma.sync backward variant (sm_80+, head dim 64 or 128), FlashAttention-2 style.
//
// One block per (key tile of kBlockN keys, kv head, batch). Each warp owns 16 keys and keeps
// their dK and dV accumulators (fp32) in registers for the whole kernel, while the block walks
// every query tile of every query head of its GQA group that can see the key tile. Per query
// tile of kBlockM rows:
//   S^T  = K Q^T,  dP^T = V dO^T                (warp: 16 keys x kBlockM queries)
//   P^T  = exp2(S^T·scale·log2e - LSE·log2e),  dS^T = P^T ∘ (dP^T - D)
//   dV  += P^T dO,  dK += dS^T Q               (P^T / dS^T go from accumulators to A operands
//                                               in registers, no shared-memory round trip)
//   dQ   = dS K  -> atomically added to fp32 dq (dS^T goes through shared memory once, since
//                                               dQ needs it split by query rows, not keys)
// Computing the transposed scores keeps the key dimension in the MMA's M, which is what lets
// P^T and dS^T feed the dV/dK products straight from registers.
//
// Tensor cores: mma.sync m16n8k16 (bf16/fp16 in, fp32 accumulate), fragments via ldmatrix
// (.trans for the operands whose reduction dimension is the row index in shared memory), tiles
// stored row-major with 16-byte chunks XOR-swizzled by row % 8 so that every ldmatrix phase hits
// 8 distinct bank groups. Q/dO tiles are double-buffered with cp.async; the per-row statistics
// (LSE, D, positions) are prefetched into registers one tile ahead.
//
// Masking: positions increase, so the query tiles that see any key of the tile form a suffix
// (found by a warp-parallel search); a tile needs the per-element test only when its first
// query precedes the tile's last key, or at the key tail.
//
// A private part of FlashBackwardKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include <climits>

#include "flash/BackwardParams.cuh"

namespace ringbench::cuda {
namespace {

// ------------------------------------------------------------------------------------------
// Configuration
// ------------------------------------------------------------------------------------------

template <int kD, int kBN, int kBM, int kMinBlocks>
struct BwdConfig {
  static constexpr int kHeadDim = kD;
  static constexpr int kBlockN = kBN;  // keys per block (16 per warp)
  static constexpr int kBlockM = kBM;  // queries per step
  static constexpr int kNumWarps = kBN / 16;
  static constexpr int kThreads = 32 * kNumWarps;
  static constexpr int kMinBlocksPerSm = kMinBlocks;
  static constexpr int kQTiles = kBM / 8;  // n8 tiles of S^T (queries)
  static constexpr int kDTiles = kD / 8;   // n8 tiles of dK / dV
  static constexpr int kRowBytes = kD * 2;
  static constexpr int kDsRowBytes = kBM * 2;
  // dQ = dS K is split over the warps as kDqMTiles row tiles x kDqGroups column groups.
  static constexpr int kDqMTiles = kBM / 16;
  static constexpr int kDqGroups = kNumWarps / kDqMTiles;
  static constexpr int kDqCols = kD / kDqGroups;
  static constexpr int kDqNTiles = kDqCols / 8;
  // Shared memory: K, V, two stages of (Q, dO), two of dS^T, two of row statistics.
  static constexpr int kKvBytes = kBN * kRowBytes;
  static constexpr int kQBytes = kBM * kRowBytes;
  static constexpr int kStageBytes = 2 * kQBytes;
  static constexpr int kDsBytes = kBN * kDsRowBytes;
  static constexpr int kStatsBytes = 3 * kBM * 4;  // LSE·log2e, D, position
  static constexpr int kOffV = kKvBytes;
  static constexpr int kOffStages = 2 * kKvBytes;
  static constexpr int kOffDs = kOffStages + 2 * kStageBytes;
  static constexpr int kOffStats = kOffDs + 2 * kDsBytes;
  static constexpr int kSmemBytes = kOffStats + 2 * kStatsBytes;
  static_assert(kD % 64 == 0 && kBM % 64 == 0, "swizzle needs >= 8 chunks of 16 bytes a row");
  static_assert(kBN % 16 == 0 && kNumWarps % kDqMTiles == 0 && kDqCols % 16 == 0,
                "dQ warp split must tile the output");
  static_assert(kBM <= kThreads, "one thread per query row loads the statistics");
};

// ------------------------------------------------------------------------------------------
// Warp-level products
// ------------------------------------------------------------------------------------------

// acc += A B^T where A is rows [a_row0, a_row0 + 16) of tile a and B the first 8·kNT rows of
// tile b, both stored [row][k] (the reduction dimension contiguous): S^T = K Q^T, dP^T = V dO^T.
template <class C, typename T, int kNT>
__device__ __forceinline__ void mma_rows_rows(float (&acc)[kNT][4], uint32_t a_tile, int a_row0,
                                              uint32_t b_tile, int lane) {
  // A: lanes 0-15 rows 0-15 at the low 8 k, lanes 16-31 the same rows at the high 8.
  // B: lanes 0-7 rows 0-7 low k, 8-15 rows 0-7 high k, 16-31 the same for rows 8-15, giving
  // b0/b1 of two adjacent n8 tiles. Every addressed row has row % 8 == lane % 8.
  const int a_row = a_row0 + (lane & 15);
  const int a_hi = lane >> 4;
  const int b_row = (lane & 7) + ((lane >> 4) << 3);
  const int b_hi = (lane >> 3) & 1;
  const int r7 = lane & 7;
#pragma unroll
  for (int kc = 0; kc < C::kHeadDim / 16; ++kc) {
    uint32_t a[4];
    ldmatrix_x4(a, a_tile + a_row * C::kRowBytes + (((2 * kc + a_hi) ^ r7) << 4));
#pragma unroll
    for (int np = 0; np < kNT / 2; ++np) {
      uint32_t b[4];
      ldmatrix_x4(b, b_tile + (b_row + 16 * np) * C::kRowBytes + (((2 * kc + b_hi) ^ r7) << 4));
      ElemOps<T>::mma(acc[2 * np], a, b[0], b[1]);
      ElemOps<T>::mma(acc[2 * np + 1], a, b[2], b[3]);
    }
  }
}

// acc += A B with A in registers (kKSteps k16 fragments) and B stored [k][n] in a swizzled tile
// of kRowBytes per row, columns from 16-byte chunk `chunk0` on: dV += P^T dO, dK += dS^T Q,
// dQ += dS K. B is read transposed: lanes 0-7 k 0-7, 8-15 k 8-15 (low n chunk), 16-31 the same
// at the high chunk, giving b0/b1 of two adjacent n8 tiles.
template <typename T, int kRowBytes, int kKSteps, int kNT>
__device__ __forceinline__ void mma_regs_cols(float (&acc)[kNT][4], const uint32_t (&a)[kKSteps][4],
                                              uint32_t b_tile, int chunk0, int lane) {
  const int b_row = (lane & 7) + (((lane >> 3) & 1) << 3);
  const int b_hi = lane >> 4;
  const int r7 = lane & 7;
#pragma unroll
  for (int ks = 0; ks < kKSteps; ++ks)
#pragma unroll
    for (int np = 0; np < kNT / 2; ++np) {
      uint32_t b[4];
      ldmatrix_x4_trans(
          b, b_tile + (16 * ks + b_row) * kRowBytes + (((chunk0 + 2 * np + b_hi) ^ r7) << 4));
      ElemOps<T>::mma(acc[2 * np], a[ks], b[0], b[1]);
      ElemOps<T>::mma(acc[2 * np + 1], a[ks], b[2], b[3]);
    }
}

// ------------------------------------------------------------------------------------------
// The kernel
// ------------------------------------------------------------------------------------------

// kListed: the mask is terms with tile lists (a compile-time choice, so the dense and causal
// kernels keep their registers).
template <class C, typename T, bool kListed>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocksPerSm)
    flash_bwd_kernel(const BwdParams p) {
  extern __shared__ __align__(128) uint8_t smem[];
  constexpr int D = C::kHeadDim, BM = C::kBlockM;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane >> 2, q4 = lane & 3;
  static_assert(C::kBlockN == 128 && C::kBlockM == 64, "tile lists: kBackwardTiles' shape");
  // with a tile list, the key blocks with the most query tiles start first
  const int k_block = kListed ? __ldg(p.tile_order + blockIdx.x) : int(blockIdx.x);
  const int k0 = k_block * C::kBlockN;
  const int k_rows = min(C::kBlockN, p.kv_len - k0);
  const int kv_head = blockIdx.y, batch = blockIdx.z;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + kv_head) * p.kv_len + k0;

  const uint32_t k_tile = smem_addr(smem);
  const uint32_t v_tile = k_tile + C::kOffV;
  const uint32_t stages = k_tile + C::kOffStages;
  const uint32_t ds_tile = k_tile + C::kOffDs;
  float* stats = reinterpret_cast<float*>(smem + C::kOffStats);  // [2][3][BM]

  load_rows_async<C, C::kBlockN>(k_tile, static_cast<const uint16_t*>(p.k) + kv_row0 * D, k_rows);
  load_rows_async<C, C::kBlockN>(v_tile, static_cast<const uint16_t*>(p.v) + kv_row0 * D, k_rows);

  const QueryTiles<kListed, BM> tiles(p, k_block, k0, kv_head);
  const int n_iters = tiles.count;
  const int32_t tile_kmax = p.causal ? __ldg(p.kv_pos + k0 + k_rows - 1) : INT_MAX;
  int32_t kpos[2];  // of the two keys (rows g and g + 8 of the warp's 16) of the accumulators
  key_positions<kListed>(kpos, p, k0 + warp * 16 + g);
  const bool key_tail = k_rows < C::kBlockN;

  auto q_row_base = [&](int h, int q0) { return (size_t(batch) * p.heads + h) * p.q_len + q0; };
  auto load_q_tiles = [&](int it) {
    int h, q0;
    tiles.tile(it, h, q0);
    const size_t row0 = q_row_base(h, q0);
    const int rows = min(BM, p.q_len - q0);
    const uint32_t stage = stages + (it & 1) * C::kStageBytes;
    load_rows_async<C, BM>(stage, static_cast<const uint16_t*>(p.q) + row0 * D, rows);
    load_rows_async<C, BM>(stage + C::kQBytes, static_cast<const uint16_t*>(p.d_o) + row0 * D,
                           rows);
  };
  // Row statistics of iteration it's tile, one thread per row. Rows that take no gradient
  // (LSE = -inf, or past q_len) get LSE = +inf so that P = exp2(-inf) = 0 exactly, and D = 0.
  struct RowStats {
    float lse_log2, delta;
    int32_t pos;
  };
  auto fetch_stats = [&](int it) {
    RowStats s{INFINITY, 0.f, INT_MIN};
    if (static_cast<int>(threadIdx.x) < BM) {
      int h, q0;
      tiles.tile(it, h, q0);
      const int row = q0 + static_cast<int>(threadIdx.x);
      if (row < p.q_len) {
        const size_t idx = q_row_base(h, q0) + threadIdx.x;
        const float lse = __ldg(p.lse + idx);
        if (lse != -INFINITY)
          s = RowStats{lse * kLog2e, __ldg(p.delta + idx), __ldg(p.q_pos + row)};
      }
    }
    return s;
  };
  auto store_stats = [&](int it, const RowStats& s) {
    if (static_cast<int>(threadIdx.x) < BM) {
      float* st = stats + (it & 1) * 3 * BM;
      st[threadIdx.x] = s.lse_log2;
      st[BM + threadIdx.x] = s.delta;
      reinterpret_cast<int32_t*>(st)[2 * BM + threadIdx.x] = s.pos;
    }
  };

  if (n_iters > 0) {
    load_q_tiles(0);
    store_stats(0, fetch_stats(0));
  }
  cp_async_commit();

  float dk[C::kDTiles][4], dv[C::kDTiles][4];
#pragma unroll
  for (int nt = 0; nt < C::kDTiles; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) dk[nt][c] = dv[nt][c] = 0.f;

  // dQ = scale · dS K for iteration it's tile, split over the warps as 16 query rows x kDqCols
  // columns. dS is read transposed out of dS^T: lanes 0-7 keys 0-7 / queries low, 8-15 keys
  // 0-7 / queries high, 16-31 the same for keys 8-15.
  const int dq_mt = warp % C::kDqMTiles, dq_grp = warp / C::kDqMTiles;
  auto dq_step = [&](int it) {
    const uint32_t ds_buf = ds_tile + (it & 1) * C::kDsBytes;
    float dq[C::kDqNTiles][4];
#pragma unroll
    for (int nt = 0; nt < C::kDqNTiles; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) dq[nt][c] = 0.f;
    const int a_key = (lane & 7) + ((lane >> 4) << 3);
    const int a_chunk = 2 * dq_mt + ((lane >> 3) & 1);
#pragma unroll
    for (int kk = 0; kk < C::kBlockN / 16; ++kk) {
      uint32_t a[1][4];
      ldmatrix_x4_trans(a[0], ds_buf + swizzled<C::kDsRowBytes>(16 * kk + a_key, a_chunk));
      mma_regs_cols<T, C::kRowBytes, 1, C::kDqNTiles>(dq, a, k_tile + 16 * kk * C::kRowBytes,
                                                      dq_grp * (C::kDqCols / 8), lane);
    }
    int h, q0;
    tiles.tile(it, h, q0);
    const size_t row0 = q_row_base(h, q0);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = dq_mt * 16 + g + 8 * r;
      if (q0 + row >= p.q_len) continue;
      float* out = p.dq + (row0 + row) * D + dq_grp * C::kDqCols + 2 * q4;
#pragma unroll
      for (int nt = 0; nt < C::kDqNTiles; ++nt)
        atomic_add_f2(out + 8 * nt, p.scale * dq[nt][2 * r], p.scale * dq[nt][2 * r + 1]);
    }
  };

  for (int it = 0; it < n_iters; ++it) {
    cp_async_wait_all();
    // Tile it and dS^T of it - 1 are visible; everyone is done with the stage and dS^T buffer
    // of it - 2, which this iteration overwrites.
    __syncthreads();
    RowStats next{};
    if (it + 1 < n_iters) {
      load_q_tiles(it + 1);
      next = fetch_stats(it + 1);  // in flight during this tile's math
    }
    cp_async_commit();

    const uint32_t q_tile = stages + (it & 1) * C::kStageBytes;
    const uint32_t do_tile = q_tile + C::kQBytes;
    const float* st = stats + (it & 1) * 3 * BM;
    const int32_t* st_pos = reinterpret_cast<const int32_t*>(st + 2 * BM);

    float s[C::kQTiles][4], dp[C::kQTiles][4];
#pragma unroll
    for (int nt = 0; nt < C::kQTiles; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) s[nt][c] = dp[nt][c] = 0.f;
    mma_rows_rows<C, T, C::kQTiles>(s, k_tile, warp * 16, q_tile, lane);
    mma_rows_rows<C, T, C::kQTiles>(dp, v_tile, warp * 16, do_tile, lane);

    // Per-element mask only where the tile's first query precedes the tile's last key (rows
    // of a padded tail carry +inf LSE already) or at the key tail.
    const bool masked =
        kListed ? tiles.partial(it) || key_tail : (p.causal && st_pos[0] < tile_kmax) || key_tail;
    probabilities<kListed>(s, p, st, st_pos, kpos, masked, q4);
    score_gradients(dp, s, st + BM, q4);

    uint32_t pa[C::kQTiles / 2][4], dsa[C::kQTiles / 2][4];
    pack_a<T, C::kQTiles>(pa, s);
    pack_a<T, C::kQTiles>(dsa, dp);
    mma_regs_cols<T, C::kRowBytes, C::kQTiles / 2, C::kDTiles>(dv, pa, do_tile, 0, lane);
    mma_regs_cols<T, C::kRowBytes, C::kQTiles / 2, C::kDTiles>(dk, dsa, q_tile, 0, lane);

    // dS^T into shared memory, [key][query]: fragment (ks, i) holds rows g / g + 8 (i odd) of
    // query chunk 2 ks + i / 2.
    const uint32_t ds_buf = ds_tile + (it & 1) * C::kDsBytes;
#pragma unroll
    for (int ks = 0; ks < C::kQTiles / 2; ++ks)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = warp * 16 + g + 8 * (i & 1);
        const int chunk = 2 * ks + (i >> 1);
        asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(
                         ds_buf + swizzled<C::kDsRowBytes>(row, chunk) + 4 * q4),
                     "r"(dsa[ks][i]));
      }
    store_stats(it + 1, next);  // its stage was last read in it - 1
    // dS^T of the previous tile became visible at this iteration's barrier: its dQ runs now,
    // so each tile needs one block barrier instead of two.
    if (it > 0) dq_step(it - 1);
  }
  if (n_iters > 0) {
    __syncthreads();
    dq_step(n_iters - 1);
  }
  cp_async_wait_all();  // no copy may outlive the block (none is pending unless n_iters == 0)

  write_key_gradients(p, dk, dv, kv_row0, warp * 16 + g, k_rows, lane);
}

}  // namespace
}  // namespace ringbench::cuda
