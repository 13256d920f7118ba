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
// wgmma variant (sm_90a): 2 warpgroups x 64 query rows, 128-key tiles, D = 128
// ------------------------------------------------------------------------------------------
//
// S = Q K^T is a wgmma with both operands in shared memory; O += P V takes P from registers
// (the S accumulators re-packed to 16 bit) and V from shared memory read N-major. Each
// warpgroup overlaps its softmax of tile t with the P V product of tile t - 1:
//   issue S(t) = Q K(t)^T; issue O += P(t-1) V(t-1); wait for S(t); softmax(t);
//   wait for the P V product; rescale O; pack P(t).
// K runs one tile ahead of V in shared memory (K(t+1) and V(t) are copied during tile t), so
// two stages of each suffice: 32 KB Q + 2 x 32 KB K + 2 x 32 KB V.
//
// Shared-memory tiles use the 128-byte swizzle of the wgmma descriptors: a tile of R rows
// is stored as two column blocks (d 0-63, d 64-127), each R rows of 128 bytes with the
// 16-byte chunk index XOR-ed with row % 8, the same XOR as the mma.sync tiles use.

#define RB_WGMMA_ACC64                                                               \
  "{"                                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, " \
  "%18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, " \
  "%34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, " \
  "%50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63 "            \
  "}"
#define RB_WGMMA_ACC64_OPERANDS(d)                                                                \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),       \
      "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),   \
      "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]),   \
      "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),   \
      "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]),   \
      "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]),   \
      "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), \
      "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]),             \
      "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]),             \
      "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]),             \
      "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]),             \
      "+f"(d[15][2]), "+f"(d[15][3])

struct WgmmaConfig {
  static constexpr int kHeadDim = 128;
  static constexpr int kBlockN = 128;
  static constexpr int kThreads = 256;
  static constexpr int kRowsPerWarp = 16;
  static constexpr int kBlockM = 128;
  static constexpr int kGroupRows = 64;  // rows per warpgroup
  // Per-warp views used by the shared mask/softmax/epilogue helpers.
  static constexpr int kMTiles = 1;
  static constexpr int kNTiles = kBlockN / 8;
  static constexpr int kDTiles = kHeadDim / 8;
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;
  static constexpr int kTileBytes = kBlockN * kHeadDim * 2;
  static constexpr int kQColBlock = kBlockM * 128;  // bytes of one 64-column block
  static constexpr int kKVColBlock = kBlockN * 128;
  static constexpr int kSmemBytes = kQBytes + 4 * kTileBytes + 1024;  // + alignment slack
};

template <typename T>
struct Wgmma;

// Instruction strings for one element type: S = A B (+ S) with A, B in shared memory, and
// O += A B with A in registers and B read N-major (transposed) from shared memory.
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
    static __device__ __forceinline__ void rs(float (&d)[16][4], const uint32_t (&a)[4],          \
                                              uint64_t b) {                                       \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n128k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC64 \
          ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                                         \
          : RB_WGMMA_ACC64_OPERANDS(d)                                                            \
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

// S = Q K^T for the warpgroup's 64 rows: 8 k16 steps over D = 128. K-major operands: one
// 8-row group of a swizzle atom is 1024 bytes; a k16 step moves 32 bytes along a row.
template <typename T>
__device__ __forceinline__ void issue_scores(float (&s)[16][4], uint32_t q_rows_addr,
                                             uint32_t k_tile) {
  using C = WgmmaConfig;
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

// O += P V over the 128 keys of a tile: 8 k16 steps of 16 keys (2048 bytes of V each). V is
// N-major: the leading offset steps to the next 64-column block, the stride offset to the
// next 8 keys.
template <typename T>
__device__ __forceinline__ void issue_pv(float (&o)[16][4], const uint32_t (&p)[8][4],
                                         uint32_t v_tile) {
  using C = WgmmaConfig;
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < C::kBlockN / 16; ++ks)
    Wgmma<T>::rs(o, p[ks], smem_desc(v_tile + ks * 2048, C::kKVColBlock, 1024));
  wgmma_commit();
}

}  // namespace
}  // namespace ringbench::cuda
