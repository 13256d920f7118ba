// Warpgroup MMA (sm_90a) instructions, shared by the forward and backward wgmma kernels: the
// wgmma forms per element type, their fences, commit and wait, the register pins that keep the
// compiler from touching registers an in-flight wgmma owns, and the shared-memory descriptor of
// the 128-byte swizzle. Each kernel's translation unit includes it (everything stays internal).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace ringbench::cuda {
namespace {
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

// Instruction strings for one element type: D = A B (+ D) with A, B in shared memory, both
// K-major (ss: n = 64, 128 or 176, chosen by the accumulator array's size) or both MN-major
// (ss_mn, n = 64), and D += A B with A in registers and B read N-major (transposed) from shared
// memory (rs: n = 128 or 64).
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
    static __device__ __forceinline__ void ss(float (&d)[8][4], uint64_t a, uint64_t b,           \
                                              int accumulate) {                                   \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n64k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC32  \
          ", %32, %33, p, 1, 1, 0, 0;\n}\n"                                                       \
          : RB_WGMMA_ACC32_OPERANDS(d)                                                            \
          : "l"(a), "l"(b), "r"(accumulate));                                                     \
    }                                                                                             \
    /* both operands MN-major (transposed): A is M x K stored K rows of M, B is K rows of N */    \
    static __device__ __forceinline__ void ss_mn(float (&d)[8][4], uint64_t a, uint64_t b,        \
                                                 int accumulate) {                                \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n64k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC32  \
          ", %32, %33, p, 1, 1, 1, 1;\n}\n"                                                       \
          : RB_WGMMA_ACC32_OPERANDS(d)                                                            \
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

}  // namespace
}  // namespace ringbench::cuda
