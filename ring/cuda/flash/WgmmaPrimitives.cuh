// Warpgroup MMA (sm_90a) building blocks of both wgmma variants: the tile configuration, the
// instruction strings per element type, shared-memory descriptors with the 128-byte swizzle, tile
// copies, and the warpgroup's S = Q K^T and O += P V.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/MmaSyncKernel.cuh"
#include "flash/WgmmaInstructions.cuh"

namespace ringbench::cuda {
namespace {

// ------------------------------------------------------------------------------------------
// wgmma variants (sm_90a): 2 warpgroups x 64 query rows, tiles of kBlockN keys, D = 128
// ------------------------------------------------------------------------------------------
//
// S = Q K^T is a wgmma with both operands in shared memory; O += P V takes P from registers
// (the S accumulators re-packed to 16 bit) and V from shared memory read N-major. Each
// warpgroup overlaps its softmax of tile t with the P V product of tile t - 1:
//   issue S(t) = Q K(t)^T; issue O += P(t-1) V(t-1); wait for S(t); softmax(t);
//   wait for the P V product; rescale O; pack P(t).
// K runs one tile ahead of V in shared memory (K(t+1) and V(t) are copied during tile t), so
// two stages of each suffice: 32 KB Q + 2 x 2 tiles of kBlockN x 256 bytes (128 keys: 160 KB in
// all; 176 keys: 208 KB).
//
// Shared-memory tiles use the 128-byte swizzle of the wgmma descriptors: a tile of R rows
// is stored as two column blocks (d 0-63, d 64-127), each R rows of 128 bytes with the
// 16-byte chunk index XOR-ed with row % 8, the same XOR as the mma.sync tiles use.
//
// The key tile width is the n of S = Q K^T (m64nNk16: N a multiple of 8 up to 256) and the k of
// O += P V (N / 16 k16 steps of m64n128k16). 128 keys divide the mask terms' 128-key tile
// lists; 176 keys (FlashAttention-3's choice for non-causal D = 128) take 27% fewer softmax
// passes, barriers and O rescales per key, at 88 + 44 instead of 64 + 32 registers for S and P.

template <int kBN, int kD = 128>
struct WgmmaTileConfig {
  static constexpr int kHeadDim = kD;
  static constexpr int kColBlocks = kD / 64;  // 64-column blocks of a Q/K/V tile (128-byte rows)
  static constexpr int kBlockN = kBN;         // keys per K/V tile
  static constexpr int kThreads = 256;
  static constexpr int kRowsPerWarp = 16;
  static constexpr int kBlockM = 128;
  static constexpr int kGroupRows = 64;  // rows per warpgroup
  // Per-warp views used by the shared mask/softmax/epilogue helpers.
  static constexpr int kMTiles = 1;
  static constexpr int kNTiles = kBlockN / 8;  // n8 tiles of S: kBlockN / 2 fp32 per thread
  static constexpr int kDTiles = kHeadDim / 8;
  static constexpr int kPSteps = kBlockN / 16;  // k16 steps of O += P V (A fragments of P)
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;
  static constexpr int kTileBytes = kBlockN * kHeadDim * 2;
  static constexpr int kQColBlock = kBlockM * 128;  // bytes of one 64-column block
  static constexpr int kKVColBlock = kBlockN * 128;
  static constexpr int kSmemBytes = kQBytes + 4 * kTileBytes + 1024;  // + alignment slack
  // k16 steps of P V; whole 8-row swizzle atoms keep the column blocks 1024-byte aligned.
  static_assert(kBlockN % 16 == 0 && kBlockN <= 256, "whole k16 steps of P V; wgmma n <= 256");
  static_assert(kD == 64 || kD == 128, "O += P V is an m64n64k16 or m64n128k16");
  static_assert(kSmemBytes <= 227 * 1024, "sm_90 opt-in limit of dynamic shared memory");
};
using WgmmaConfig = WgmmaTileConfig<128>;  // the cp.async kernel; the TMA kernel's default

// Copy rows [0, kRows) of a [*, 128] matrix into a column-block tile (see above); rows
// >= valid_rows are zero-filled.
template <int kRows>
__device__ __forceinline__ void load_rows_cb_async(uint32_t dst, const uint16_t* src,
                                                   int valid_rows) {
  using C = WgmmaConfig;
  constexpr int kChunks = C::kHeadDim / 8;
  constexpr int kTotal = kRows * kChunks;
  static_assert(kTotal % C::kThreads == 0, "tile copy must divide evenly over the block");
#pragma unroll
  for (int it = 0; it < kTotal / C::kThreads; ++it) {
    const int i = static_cast<int>(threadIdx.x) + it * C::kThreads;
    const int row = i / kChunks, chunk = i % kChunks;
    const bool valid = row < valid_rows;
    const uint16_t* g = valid ? src + row * C::kHeadDim + chunk * 8 : src;
    cp_async_16(dst + (chunk / 8) * (kRows * 128) + row * 128 + (((chunk % 8) ^ (row & 7)) << 4), g,
                valid);
  }
}

// S = Q K^T for the warpgroup's 64 rows: D / 16 k16 steps, one m64nNk16 each with N = kBlockN.
// K-major operands: one 8-row group of a swizzle atom is 1024 bytes (the stride offset; the wgmma
// walks kBlockN / 8 of them down the K tile); a k16 step moves 32 bytes along a row, d 64-127 are
// the second column block.
template <class C, typename T>
__device__ __forceinline__ void issue_scores(float (&s)[C::kNTiles][4], uint32_t q_rows_addr,
                                             uint32_t k_tile) {
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < C::kHeadDim / 16; ++kk) {
    const uint32_t col = (kk / 4), byte = (kk % 4) * 32;
    const uint64_t a = smem_desc(q_rows_addr + col * C::kQColBlock + byte, 16, 1024);
    const uint64_t b = smem_desc(k_tile + col * C::kKVColBlock + byte, 16, 1024);
    Wgmma<T>::ss(s, a, b, kk > 0);
  }
  wgmma_commit();
}

// O += P V over the kBlockN keys of a tile: kBlockN / 16 k16 steps of 16 keys (2048 bytes of V
// each). V is N-major: the leading offset steps to the next 64-column block (kBlockN rows of 128
// bytes further; D = 64 has one), the stride offset to the next 8 keys.
template <class C, typename T>
__device__ __forceinline__ void issue_pv(float (&o)[C::kDTiles][4],
                                         const uint32_t (&p)[C::kPSteps][4], uint32_t v_tile) {
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < C::kPSteps; ++ks)
    Wgmma<T>::rs(o, p[ks], smem_desc(v_tile + ks * 2048, C::kKVColBlock, 1024));
  wgmma_commit();
}

}  // namespace
}  // namespace ringbench::cuda
