// Helpers shared by the fp32 GPU reference kernels: ReferenceAttentionKernel.cu (forward with
// merge) and ReferenceBackwardKernel.cu (backward) include it.
//
// Holds (with the CUDA check of flash/CudaCheck.cuh for the host launchers) the bf16/fp16 -> fp32
// device conversions and the shared-memory row staging both references use. The device functions
// are
// __forceinline__ or templates in the named namespace ringbench::cuda::reference, so including
// the header from several translation units is ODR-safe; the kernel files pull the names in
// with a using-directive inside their anonymous namespace.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "flash/CudaCheck.cuh"

namespace ringbench::cuda::reference {

__device__ __forceinline__ float to_float(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
__device__ __forceinline__ float to_float(__half x) {
  return __half2float(x);
}

// Stage `rows` rows of a [len, D] matrix starting at row `row0` as fp32; rows past `len` are 0.
template <typename T>
__device__ void stage_rows(float* dst, int dst_stride, const T* src, int row0, int rows, int len,
                           int D) {
  for (int i = threadIdx.x; i < rows * D; i += blockDim.x) {
    const int row = i / D, d = i % D;
    dst[row * dst_stride + d] = row0 + row < len ? to_float(src[size_t(row0 + row) * D + d]) : 0.f;
  }
}

}  // namespace ringbench::cuda::reference
