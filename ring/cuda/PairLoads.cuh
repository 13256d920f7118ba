// Two bf16/fp16 values at a time as a float2, for the element-wise kernels around the block
// kernels (MergeKernel, GradientKernels): a warp's lanes read a row's values in pairs, coalesced.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace ringbench {

__device__ __forceinline__ float2 load2(const __nv_bfloat16* p) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
}
__device__ __forceinline__ float2 load2(const __half* p) {
  return __half22float2(*reinterpret_cast<const __half2*>(p));
}
__device__ __forceinline__ void store2(__nv_bfloat16* p, float2 v) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __float22bfloat162_rn(v);
}
__device__ __forceinline__ void store2(__half* p, float2 v) {
  *reinterpret_cast<__half2*>(p) = __float22half2_rn(v);
}

}  // namespace ringbench
