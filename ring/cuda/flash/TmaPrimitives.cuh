// The tensor-memory accelerator as the flash kernels use it, forward and backward: on the host,
// tensor maps of [heads, rows, dim] 16-bit tensors in 64-column boxes with the 128-byte swizzle
// that the wgmma descriptors expect; on the device, mbarriers (transaction counts, arrivals,
// parity waits), the 3D tile copy and reduce-add, and the named barriers that order warpgroups.
// Each kernel's translation unit includes it (everything stays internal).
#pragma once

#include <cuda.h>  // CUtensorMap and its enums (types only; no driver library link)
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "flash/BlockAttention.cuh"
#include "flash/CudaCheck.cuh"

namespace ringbench::cuda {
namespace {

// cuTensorMapEncodeTiled through the runtime's driver entry point (no libcuda link needed).
using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                   const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                   const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                   CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiledFn encode_tiled() {
  static const EncodeTiledFn fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult query{};
    FLASH_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000,
                                                      cudaEnableDefault, &query));
    if (query != cudaDriverEntryPointSuccess || ptr == nullptr)
      throw std::runtime_error("flash kernels: cuTensorMapEncodeTiled not available");
    return reinterpret_cast<EncodeTiledFn>(ptr);
  }();
  return fn;
}

// [heads_total, rows, dim] tensor of `element_bytes`-byte elements, read or reduced in boxes of
// 128 bytes of a row (64 16-bit or 32 fp32 columns) x box_rows rows, with the 128-byte swizzle
// that the wgmma descriptors expect; rows past the end read as zeros and are never written.
CUtensorMap make_tensor_map(const void* base, CUtensorMapDataType type, int element_bytes, int rows,
                            int heads_total, int dim, int box_rows) {
  CUtensorMap map;
  const cuuint64_t dims[3] = {cuuint64_t(dim), cuuint64_t(rows), cuuint64_t(heads_total)};
  const cuuint64_t strides[2] = {cuuint64_t(dim) * element_bytes,
                                 cuuint64_t(rows) * dim * element_bytes};  // dims 1, 2
  const cuuint32_t box[3] = {cuuint32_t(128 / element_bytes), cuuint32_t(box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult r =
      encode_tiled()(&map, type, 3, const_cast<void*>(base), dims, strides, box, element_strides,
                     CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw std::runtime_error("flash kernels: cuTensorMapEncodeTiled failed with error " +
                             std::to_string(int(r)));
  return map;
}

// Q, K, V, dO: bf16 or fp16, boxes of 64 columns.
CUtensorMap make_tensor_map(const void* base, ElementType type, int rows, int heads_total, int dim,
                            int box_rows) {
  return make_tensor_map(base,
                         type == ElementType::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                   : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                         2, rows, heads_total, dim, box_rows);
}

// ------------------------------------------------------------------------------------------
// Device side
// ------------------------------------------------------------------------------------------

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, int c0, int c1,
                                            int c2, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, "
      "%3, %4}], [%5];\n" ::"r"(dst),
      "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
      : "memory");
}

// dst[box at (c0, c1, c2)] += the box in shared memory, an asynchronous bulk reduction; commit
// closes the group of the reductions issued so far, and a reader waits for them to be done
// reading shared memory (before the buffer is rewritten) or done (before the block exits).
__device__ __forceinline__ void tma_reduce_add_3d(const CUtensorMap* map, int c0, int c1, int c2,
                                                  uint32_t src) {
  asm volatile(
      "cp.reduce.async.bulk.tensor.3d.global.shared::cta.add.tile.bulk_group [%0, {%1, %2, %3}], "
      "[%4];\n" ::"l"(map),
      "r"(c0), "r"(c1), "r"(c2), "r"(src)
      : "memory");
}
__device__ __forceinline__ void bulk_commit() {
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
}
__device__ __forceinline__ void bulk_wait_reads_done() {
  asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
}
__device__ __forceinline__ void bulk_wait_done() {
  asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

}  // namespace
}  // namespace ringbench::cuda
