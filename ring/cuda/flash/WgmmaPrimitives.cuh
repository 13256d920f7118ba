// Warpgroup MMA (sm_90a) building blocks of both wgmma variants: the tile configuration, the
// instruction strings per element type, shared-memory descriptors with the 128-byte swizzle, tile
// copies, and the warpgroup's S = Q K^T and O += P V.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/MmaSyncKernel.cuh"

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

// Inline-asm operand lists of the fp32 accumulators d[n8 tile][4], in register order.
#define RB_ACC_TILE(d, i) "+f"(d[i][0]), "+f"(d[i][1]), "+f"(d[i][2]), "+f"(d[i][3])
#define RB_ACC_TILES4(d, i) \
  RB_ACC_TILE(d, i), RB_ACC_TILE(d, i + 1), RB_ACC_TILE(d, i + 2), RB_ACC_TILE(d, i + 3)
// n = 128: 16 n8 tiles, %0-%63.
#define RB_WGMMA_ACC64_OPERANDS(d) \
  RB_ACC_TILES4(d, 0), RB_ACC_TILES4(d, 4), RB_ACC_TILES4(d, 8), RB_ACC_TILES4(d, 12)
#define RB_WGMMA_ACC64                                                               \
  "{"                                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, " \
  "%18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, " \
  "%34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, " \
  "%50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63 "            \
  "}"
// n = 64: 8 n8 tiles, %0-%31.
#define RB_WGMMA_ACC32_OPERANDS(d) RB_ACC_TILES4(d, 0), RB_ACC_TILES4(d, 4)
#define RB_WGMMA_ACC32                                                               \
  "{"                                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, " \
  "%18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31 "            \
  "}"
// n = 176: 22 n8 tiles, %0-%87.
#define RB_WGMMA_ACC88_OPERANDS(d) \
  RB_WGMMA_ACC64_OPERANDS(d), RB_ACC_TILES4(d, 16), RB_ACC_TILE(d, 20), RB_ACC_TILE(d, 21)
#define RB_WGMMA_ACC88                                                               \
  "{"                                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, " \
  "%18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, " \
  "%34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, " \
  "%50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, " \
  "%66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, " \
  "%82, %83, %84, %85, %86, %87 "                                                    \
  "}"

template <typename T>
struct Wgmma;

// Instruction strings for one element type: S = A B (+ S) with A, B in shared memory (n = 128
// or 176, chosen by the accumulator array's size), and O += A B with A in registers and B read
// N-major (transposed) from shared memory (n = the head dim, 128 or 64).
#define RB_DEFINE_WGMMA(TYPE, PTX_TYPE)                                                           \
  template <>                                                                                     \
  struct Wgmma<TYPE> {                                                                            \
    static __device__ __forceinline__ void ss(float (&d)[16][4], uint64_t a, uint64_t b,          \
                                              int accumulate) {                                   \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n128k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC64 \
          ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                                       \
          : RB_WGMMA_ACC64_OPERANDS(d)                                                            \
          : "l"(a), "l"(b), "r"(accumulate));                                                     \
    }                                                                                             \
    static __device__ __forceinline__ void ss(float (&d)[22][4], uint64_t a, uint64_t b,          \
                                              int accumulate) {                                   \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %90, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n176k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC88 \
          ", %88, %89, p, 1, 1, 0, 0;\n}\n"                                                       \
          : RB_WGMMA_ACC88_OPERANDS(d)                                                            \
          : "l"(a), "l"(b), "r"(accumulate));                                                     \
    }                                                                                             \
    static __device__ __forceinline__ void rs(float (&d)[16][4], const uint32_t (&a)[4],          \
                                              uint64_t b) {                                       \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n128k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC64 \
          ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                                         \
          : RB_WGMMA_ACC64_OPERANDS(d)                                                            \
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                          \
    }                                                                                             \
    static __device__ __forceinline__ void rs(float (&d)[8][4], const uint32_t (&a)[4],           \
                                              uint64_t b) {                                       \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n64k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC32  \
          ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"                                         \
          : RB_WGMMA_ACC32_OPERANDS(d)                                                            \
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                          \
    }                                                                                             \
  };
RB_DEFINE_WGMMA(__nv_bfloat16, "bf16")
RB_DEFINE_WGMMA(__half, "f16")
#undef RB_DEFINE_WGMMA

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// cp.async writes shared memory through the generic proxy; wgmma reads it through the async
// proxy. Each writer fences before the barrier that publishes the tile.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// The compiler does not know that wgmma runs asynchronously: these empty asm statements pin
// registers that an in-flight wgmma reads or writes, so no access moves across the wait and
// no register is reused before it.
template <int kRows>
__device__ __forceinline__ void fence_registers(float (&r)[kRows][4]) {
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) asm volatile("" : "+f"(r[i][c])::"memory");
}
template <int kRows>
__device__ __forceinline__ void fence_registers(uint32_t (&r)[kRows][4]) {
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) asm volatile("" : "+r"(r[i][c])::"memory");
}

// Shared-memory matrix descriptor, 128-byte swizzle. Addresses and offsets in bytes.
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t leading_bytes,
                                              uint32_t stride_bytes) {
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t((leading_bytes >> 4) & 0x3FFF) << 16) |
         (uint64_t((stride_bytes >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

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
