// PTX wrappers and the swizzled shared-memory tile layout shared by the mma.sync flash kernels:
// FlashAttentionKernel.cu (forward) and FlashBackwardKernel.cu (backward) include it.
//
// Holds cp.async (16-byte copies with zero-fill, commit, wait), ldmatrix x4 (plain and .trans),
// ex2.approx, the element-type specific m16n8k16 MMA and fp32 -> 16-bit packing (ElemOps), and
// the row-major tile layout with 16-byte chunks XOR-swizzled by row % 8 plus its cp.async row
// loader. Everything is __forceinline__ or a template in the named namespace
// ringbench::cuda::ptx, so including it from several translation units is ODR-safe; the kernel
// files pull the names in with a using-directive inside their anonymous namespace.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace ringbench::cuda::ptx {

// ------------------------------------------------------------------------------------------
// PTX wrappers
// ------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global -> shared; when !valid it writes 16 zero bytes instead. The
// zero-fill matters: padded rows must be 0, not stale data, since 0 · NaN = NaN (e.g. P = 0
// times uninitialized V could still be NaN).
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ float fast_exp2(float x) {  // ex2.approx(-inf) = +0
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Element-type specific pieces: the MMA instruction and the fp32 -> 16-bit packing of P.
template <typename T>
struct ElemOps;

template <>
struct ElemOps<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

template <>
struct ElemOps<__half> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

// ------------------------------------------------------------------------------------------
// Swizzled shared-memory tiles
// ------------------------------------------------------------------------------------------

// Shared-memory tiles are row-major with 16-byte chunks XOR-swizzled by (row % 8): the
// 8 rows an ldmatrix phase reads at one logical chunk then hit 8 different bank groups.
template <int kRowBytes>
__device__ __forceinline__ uint32_t swizzled(int row, int chunk) {
  return row * kRowBytes + ((chunk ^ (row & 7)) << 4);
}

// Copy rows [0, kRows) of a row-major [*, D] 16-bit matrix into a swizzled tile; rows >=
// valid_rows are zero-filled (tails of q_len / kv_len). C supplies kHeadDim, kRowBytes and
// kThreads (the block size, which must divide the tile's chunk count).
template <class C, int kRows>
__device__ __forceinline__ void load_rows_async(uint32_t dst, const uint16_t* src, int valid_rows) {
  constexpr int kChunks = C::kHeadDim / 8;
  constexpr int kTotal = kRows * kChunks;
  static_assert(kTotal % C::kThreads == 0, "tile copy must divide evenly over the block");
#pragma unroll
  for (int it = 0; it < kTotal / C::kThreads; ++it) {
    const int i = static_cast<int>(threadIdx.x) + it * C::kThreads;
    const int row = i / kChunks, chunk = i % kChunks;
    const bool valid = row < valid_rows;
    const uint16_t* g = valid ? src + row * C::kHeadDim + chunk * 8 : src;
    cp_async_16(dst + swizzled<C::kRowBytes>(row, chunk), g, valid);
  }
}

}  // namespace ringbench::cuda::ptx
