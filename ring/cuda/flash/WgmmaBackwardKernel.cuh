// The warp-specialized wgmma backward variant (sm_90a, head dim 64 or 128): a producer warp
// streams the query tiles with TMA, two consumer warpgroups own 64 keys each of a 128-key tile.
// A private part of FlashBackwardKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
//
// One block per (key tile of 128 keys, kv head, batch), as the mma.sync variant, and the same
// transposed products, now warpgroup MMAs (M = the warpgroup's 64 keys) on 64-query tiles:
//   S^T  = K Q^T, dP^T = V dO^T       ss: K / V and Q / dO both K-major in shared memory
//   P^T  = exp2(S^T·scale·log2e - LSE·log2e),  dS^T = P^T ∘ (dP^T - D)
//   dV  += P^T dO, dK += dS^T Q       rs: P^T / dS^T from the accumulators, dO / Q N-major
//   dQ   = dS K                        ss_mn: dS^T stored [key][query] is dS MN-major, K N-major
// dK and dV (fp32) stay in registers for the whole kernel. dQ is the one product whose M is the
// queries, so dS^T goes through shared memory once. Each warpgroup computes a 64 x 64 block of
// dQ: at head dim 128 its half of the columns over all 128 keys (both warpgroups' dS^T, so they
// meet at a named barrier), at head dim 64 all columns over its own 64 keys (no barrier between
// the warpgroups; both halves add into dq). Each warpgroup stages its block in shared memory (the
// 128-byte swizzle: conflict-free stores) and one of its threads adds it to the fp32 dq with TMA
// reduce-adds, so the tensor cores never wait for the additions: float2 atomics from the
// accumulators cost 28 % at head dim 128 and 44 % at 64 (measured on H200). Every key tile adds to
// every query row, in an order that varies between runs: dq is not bitwise deterministic; dK and dV
// are.
//
// Shared memory (head dim 128): K and V (32 KB each) for the whole kernel, kStages stages of
// Q and dO (16 KB each) with their rows' statistics (LSE·log2e, D, position), and two dS^T
// buffers (16 KB each) so one warpgroup may write the next tile's dS^T while the other still
// reads this one's, and the dQ staging (16 KB per warpgroup). All tiles use the 128-byte swizzle
// of TMA and the wgmma descriptors.
#pragma once

#include <climits>

#include "flash/BackwardParams.cuh"
#include "flash/TmaPrimitives.cuh"
#include "flash/WgmmaInstructions.cuh"

namespace ringbench::cuda {
namespace {

// kStageCount stages of Q / dO: 2 (3 fit at head dim 64 only, and measured the same there).
template <int kD, int kStageCount>
struct WgmmaBwdConfig {
  static constexpr int kHeadDim = kD;
  static constexpr int kColBlocks = kD / 64;  // 64-column blocks (128-byte rows) of a tile
  static constexpr int kBlockN = 128;         // keys per block: 64 per consumer warpgroup
  static constexpr int kBlockM = 64;          // queries per step
  static constexpr int kStages = kStageCount;
  static constexpr int kThreads = 384;  // consumer warpgroups 0-1, producer warpgroup 2
  static constexpr int kConsumerWarps = 8;
  static constexpr int kQTiles = kBlockM / 8;   // n8 tiles of S^T and dP^T
  static constexpr int kQSteps = kBlockM / 16;  // k16 steps of dV += P^T dO and dK += dS^T Q
  static constexpr int kDTiles = kD / 8;        // n8 tiles of dK and dV
  // dQ: a 64 x 64 block per warpgroup, over all 128 keys (D 128) or the warpgroup's 64 (D 64)
  static constexpr bool kDqSplitsKeys = kD == 64;
  static constexpr int kDqKeySteps = (kDqSplitsKeys ? 64 : 128) / 16;
  static constexpr int kKvColBlock = kBlockN * 128;
  static constexpr int kKvBytes = kBlockN * kD * 2;
  static constexpr int kQColBlock = kBlockM * 128;
  static constexpr int kQBytes = kBlockM * kD * 2;
  static constexpr int kDsBytes = kBlockN * kBlockM * 2;  // [key][query]: 128-byte rows
  static constexpr int kStatsBytes = 3 * kBlockM * 4;     // LSE·log2e, D, position
  static constexpr int kOffV = kKvBytes;
  static constexpr int kOffStages = 2 * kKvBytes;  // stage s: Q, then dO
  static constexpr int kOffDs = kOffStages + kStages * 2 * kQBytes;
  // dQ staging: per warpgroup its 64 x 64 fp32 block as two boxes of 32 columns (8 KB each)
  static constexpr int kDqBoxBytes = kBlockM * 128;
  static constexpr int kOffDq = kOffDs + 2 * kDsBytes;
  static constexpr int kOffStats = kOffDq + 2 * 2 * kDqBoxBytes;
  static constexpr int kSmemBytes = kOffStats + kStages * kStatsBytes + 1024;  // + alignment
  // 128 x 40 + 256 x 232 = 384 x 168, the block's pool under __launch_bounds__(384, 1).
  static constexpr int kProducerRegs = 40, kConsumerRegs = 232;
  static_assert(kD == 64 || kD == 128, "dK / dV are m64n64 or m64n128 accumulators");
  static_assert(kSmemBytes <= 227 * 1024, "sm_90 opt-in limit of dynamic shared memory");
};

struct BwdTmaMaps {
  CUtensorMap q, d_o, k, v;  // 3D (d, row, batch * heads): boxes of 64 d x 64 or 128 rows
  CUtensorMap dq;            // fp32, reduced into in boxes of 32 d x 64 rows
};

// S^T or dP^T of the warpgroup's 64 keys against a 64-query tile: D / 16 k16 steps.
template <class C, typename T>
__device__ __forceinline__ void issue_transposed_scores(float (&acc)[C::kQTiles][4],
                                                        uint32_t key_rows, uint32_t query_tile) {
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < C::kHeadDim / 16; ++kk) {
    const uint32_t col = kk / 4, byte = (kk % 4) * 32;
    Wgmma<T>::ss(acc, smem_desc(key_rows + col * C::kKvColBlock + byte, 16, 1024),
                 smem_desc(query_tile + col * C::kQColBlock + byte, 16, 1024), kk > 0);
  }
  wgmma_commit();
}

// acc += A X over the tile's 64 queries: A (P^T or dS^T) from registers, X (dO or Q) N-major.
template <class C, typename T>
__device__ __forceinline__ void issue_key_gradient(float (&acc)[C::kDTiles][4],
                                                   const uint32_t (&a)[C::kQSteps][4],
                                                   uint32_t query_tile) {
#pragma unroll
  for (int ks = 0; ks < C::kQSteps; ++ks)
    Wgmma<T>::rs(acc, a[ks], smem_desc(query_tile + ks * 2048, C::kQColBlock, 1024));
}

// dQ block = dS K over kDqKeySteps x 16 keys from `first_key`: dS^T rows of 128 bytes are dS
// MN-major; K's rows from first_key are the N-major B, its column block `col_block`.
template <class C, typename T>
__device__ __forceinline__ void issue_query_gradient(float (&dq)[8][4], uint32_t ds_buf,
                                                     uint32_t k_tile, int first_key,
                                                     int col_block) {
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < C::kDqKeySteps; ++ks) {
    const uint32_t key_bytes = (first_key + 16 * ks) * 128;
    Wgmma<T>::ss_mn(
        dq, smem_desc(ds_buf + key_bytes, C::kDsBytes, 1024),
        smem_desc(k_tile + col_block * C::kKvColBlock + key_bytes, C::kKvColBlock, 1024), ks > 0);
  }
  wgmma_commit();
}

template <class C, typename T, bool kListed>
__global__ void __launch_bounds__(C::kThreads, 1)
    flash_bwd_wgmma_kernel(const BwdParams p, const __grid_constant__ BwdTmaMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ uint8_t smem_raw[];
  constexpr int D = C::kHeadDim, BM = C::kBlockM;
  // Barriers: 0 K/V full; then per stage a full (Q, dO and statistics landed) and an empty one.
  __shared__ __align__(8) uint64_t barriers[1 + 2 * C::kStages];
  constexpr int kKvFull = 0, kFull = 1, kEmpty = 1 + C::kStages;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = threadIdx.x / 128;
  const int k_block = kListed ? __ldg(p.tile_order + blockIdx.x) : int(blockIdx.x);
  const int k0 = k_block * C::kBlockN;
  const int k_rows = min(C::kBlockN, p.kv_len - k0);
  const int kv_head = blockIdx.y, batch = blockIdx.z;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + kv_head) * p.kv_len + k0;

  const uint32_t base = (smem_addr(smem_raw) + 1023) & ~1023u;  // swizzle atoms: 1024 B
  const uint32_t k_tile = base, v_tile = base + C::kOffV;
  auto q_stage = [&](int it) { return base + C::kOffStages + (it % C::kStages) * 2 * C::kQBytes; };
  auto ds_buffer = [&](int it) { return base + C::kOffDs + (it & 1) * C::kDsBytes; };
  float* stats_base =
      reinterpret_cast<float*>(smem_raw + (base - smem_addr(smem_raw)) + C::kOffStats);
  auto stats = [&](int it) { return stats_base + (it % C::kStages) * 3 * BM; };
  const uint32_t bar0 = smem_addr(barriers);
  auto bar = [&](int i) { return bar0 + 8u * i; };

  const QueryTiles<kListed, BM> tiles(p, k_block, k0, kv_head);
  const int n_iters = tiles.count;
  auto q_row_base = [&](int h, int q0) { return (size_t(batch) * p.heads + h) * p.q_len + q0; };

  if (threadIdx.x == 0) {
    mbar_init(bar(kKvFull), 1);
    for (int s = 0; s < C::kStages; ++s) {
      mbar_init(bar(kFull + s), 1 + 32);  // the copies' transaction count + the warp's stats
      mbar_init(bar(kEmpty + s), C::kConsumerWarps);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();  // the only block-wide barrier

  if (group == 2) {  // producer: warp 8 copies, its lanes load the rows' statistics
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(C::kProducerRegs));
    if (warp != 8 || n_iters == 0) return;
    if (lane == 0) {
      mbar_expect_tx(bar(kKvFull), 2 * C::kKvBytes);
      const int row = kv_head + batch * p.kv_heads;
#pragma unroll
      for (int cb = 0; cb < C::kColBlocks; ++cb) {
        tma_load_3d(k_tile + cb * C::kKvColBlock, &maps.k, 64 * cb, k0, row, bar(kKvFull));
        tma_load_3d(v_tile + cb * C::kKvColBlock, &maps.v, 64 * cb, k0, row, bar(kKvFull));
      }
    }
    for (int it = 0; it < n_iters; ++it) {
      const int stage = it % C::kStages;
      if (it >= C::kStages) mbar_wait(bar(kEmpty + stage), ((it / C::kStages) + 1) & 1);
      int h, q0;
      tiles.tile(it, h, q0);
      if (lane == 0) {
        mbar_expect_tx(bar(kFull + stage), 2 * C::kQBytes);
        const int q_head = batch * p.heads + h;
#pragma unroll
        for (int cb = 0; cb < C::kColBlocks; ++cb) {
          tma_load_3d(q_stage(it) + cb * C::kQColBlock, &maps.q, 64 * cb, q0, q_head,
                      bar(kFull + stage));
          tma_load_3d(q_stage(it) + C::kQBytes + cb * C::kQColBlock, &maps.d_o, 64 * cb, q0, q_head,
                      bar(kFull + stage));
        }
      }
      // Rows that take no gradient (LSE = -inf, or past q_len) get LSE = +inf, so that
      // P = exp2(-inf) = 0 exactly, D = 0 and position INT_MIN.
      float* st = stats(it);
      for (int r = lane; r < BM; r += 32) {
        float lse_log2 = INFINITY, delta = 0.f;
        int32_t pos = INT_MIN;
        if (q0 + r < p.q_len) {
          const size_t idx = q_row_base(h, q0) + r;
          const float lse = __ldg(p.lse + idx);
          if (lse != -INFINITY) {
            lse_log2 = lse * kLog2e;
            delta = __ldg(p.delta + idx);
            pos = __ldg(p.q_pos + q0 + r);
          }
        }
        st[r] = lse_log2;
        st[BM + r] = delta;
        reinterpret_cast<int32_t*>(st)[2 * BM + r] = pos;
      }
      mbar_arrive(bar(kFull + stage));  // releases this lane's statistics stores
    }
    return;
  }
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(C::kConsumerRegs));

  // Consumers: warpgroup `group` owns keys [64 group, 64 group + 64) of the tile; this thread's
  // accumulator rows are keys 16 (warp % 4) + lane / 4 (+ 8), its columns 8 n + 2 (lane % 4).
  const int g = lane >> 2, q4 = lane & 3;
  const int wg_key0 = 64 * group, warp_key0 = wg_key0 + 16 * (warp % 4);
  int32_t kpos[2];
  key_positions<kListed>(kpos, p, k0 + warp_key0 + g);
  const bool key_tail = k_rows < C::kBlockN;
  const int32_t tile_kmax = p.causal ? __ldg(p.kv_pos + k0 + k_rows - 1) : INT_MAX;

  float dk[C::kDTiles][4], dv[C::kDTiles][4];
#pragma unroll
  for (int nt = 0; nt < C::kDTiles; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) dk[nt][c] = dv[nt][c] = 0.f;

  const uint32_t k_rows_wg = k_tile + wg_key0 * 128, v_rows_wg = v_tile + wg_key0 * 128;
  const int dq_first_key = C::kDqSplitsKeys ? wg_key0 : 0;
  const int dq_col_block = C::kDqSplitsKeys ? 0 : group;
  const uint32_t dq_stage = base + C::kOffDq + group * 2 * C::kDqBoxBytes;
  const bool dq_issuer = threadIdx.x % 128 == 0;  // issues the warpgroup's reduce-adds
  float s[C::kQTiles][4], dp[C::kQTiles][4];
  auto issue_scores_of = [&](int it) {
    mbar_wait(bar(kFull + it % C::kStages), (it / C::kStages) & 1);
    issue_transposed_scores<C, T>(s, k_rows_wg, q_stage(it));
    issue_transposed_scores<C, T>(dp, v_rows_wg, q_stage(it) + C::kQBytes);
  };
  if (n_iters > 0) mbar_wait(bar(kKvFull), 0);
  for (int it = 0; it < n_iters; ++it) {
    issue_scores_of(it);
    const uint32_t q_tile = q_stage(it), do_tile = q_tile + C::kQBytes;
    const float* st = stats(it);
    const int32_t* st_pos = reinterpret_cast<const int32_t*>(st + 2 * BM);

    const bool masked =
        kListed ? tiles.partial(it) || key_tail : (p.causal && st_pos[0] < tile_kmax) || key_tail;
    wgmma_wait<1>();
    fence_registers(s);
    probabilities<kListed>(s, p, st, st_pos, kpos, masked, q4);
    wgmma_wait<0>();
    fence_registers(dp);
    score_gradients(dp, s, st + BM, q4);
    uint32_t pa[C::kQSteps][4], dsa[C::kQSteps][4];
    pack_a<T, C::kQTiles>(pa, s);
    pack_a<T, C::kQTiles>(dsa, dp);
    wgmma_fence();
    issue_key_gradient<C, T>(dv, pa, do_tile);
    issue_key_gradient<C, T>(dk, dsa, q_tile);
    wgmma_commit();

    // dS^T into shared memory, [key][query]: fragment (ks, i) holds keys g / g + 8 (i odd) of
    // query chunk 2 ks + i / 2. Then published to the async proxy (the wgmma reads).
    const uint32_t ds_buf = ds_buffer(it);
#pragma unroll
    for (int ks = 0; ks < C::kQSteps; ++ks)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int key = warp_key0 + g + 8 * (i & 1);
        asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(
                         ds_buf + swizzled<128>(key, 2 * ks + (i >> 1)) + 4 * q4),
                     "r"(dsa[ks][i]));
      }
    fence_proxy_async();
    if (dq_issuer) bulk_wait_reads_done();  // the previous tile's dQ has left the staging
    if constexpr (C::kDqSplitsKeys)
      named_barrier_sync(1 + group, 128);  // this warpgroup's dS^T rows are complete
    else
      named_barrier_sync(1, 256);  // both warpgroups' dS^T rows are complete

    float dq[8][4];
    issue_query_gradient<C, T>(dq, ds_buf, k_tile, dq_first_key, dq_col_block);
    wgmma_wait<0>();
    fence_registers(dq);
    fence_registers(dk);
    fence_registers(dv);
    fence_registers(pa);
    fence_registers(dsa);
    if (lane == 0) mbar_arrive(bar(kEmpty + it % C::kStages));  // Q, dO, statistics read

      // dQ (scaled) into the staging boxes: n8 tile nt is box nt / 4, 16-byte chunk
      // 2 (nt % 4) + q4 / 2 of its 128-byte row, swizzled by row % 8 (= g).
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = 16 * (warp % 4) + g + 8 * r;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const uint32_t addr = dq_stage + (nt / 4) * C::kDqBoxBytes + row * 128 +
                              (((2 * (nt % 4) + q4 / 2) ^ g) << 4) + 8 * (q4 & 1);
        asm volatile("st.shared.v2.f32 [%0], {%1, %2};\n" ::"r"(addr), "f"(p.scale * dq[nt][2 * r]),
                     "f"(p.scale * dq[nt][2 * r + 1]));
      }
    }
    fence_proxy_async();
    named_barrier_sync(3 + group, 128);  // the warpgroup's dQ block is staged
    if (dq_issuer) {
      int h, q0;
      tiles.tile(it, h, q0);
      const int q_head = batch * p.heads + h;
      tma_reduce_add_3d(&maps.dq, 64 * dq_col_block, q0, q_head, dq_stage);
      tma_reduce_add_3d(&maps.dq, 64 * dq_col_block + 32, q0, q_head, dq_stage + C::kDqBoxBytes);
      bulk_commit();
    }
  }
  if (dq_issuer) bulk_wait_done();  // the reduce-adds read shared memory until they are done

  write_key_gradients(p, dk, dv, kv_row0, warp_key0 + g, k_rows, lane);
#else
  __trap();  // built without sm_90a: the host never selects this kernel then
#endif
}

}  // namespace
}  // namespace ringbench::cuda
