// Helpers shared by the standalone checks/benchmarks flash_kernel_check.cu (forward) and
// flash_backward_check.cu (backward): reproducible random inputs (splitmix64 hash, uniform
// generator, 16-bit fill kernel), the host 16-bit -> float conversion, position layouts (runs,
// zigzag) and names for printing.
//
// A .cuh because it holds a kernel and host/device functions. Functions are inline and the
// kernel is static, all in the named namespace ringbench::cuda::check, so including the header
// from several translation units is ODR-safe.
#pragma once

#include "flash/BlockAttention.cuh"
#include "flash/CudaCheck.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringbench::cuda::check {

// ------------------------------------------------------------------------------------------
// Random data
// ------------------------------------------------------------------------------------------

inline __host__ __device__ uint64_t mix64(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1) from (seed, index): reproducible and independent of launch shape.
inline __host__ __device__ float uniform_pm1(uint64_t seed, uint64_t i) {
  return static_cast<float>(mix64(seed * 0x100000001b3ull + i) >> 40) * (2.f / 16777216.f) - 1.f;
}

// n bf16 (bf16 = true) or fp16 values, amp * uniform_pm1(seed, i), as raw 16-bit patterns.
static __global__ void fill_elements(uint16_t* dst, size_t n, uint64_t seed, float amp, bool bf16) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    const float x = amp * uniform_pm1(seed, i);
    dst[i] =
        bf16 ? __bfloat16_as_ushort(__float2bfloat16_rn(x)) : __half_as_ushort(__float2half_rn(x));
  }
}

// Host: a raw bf16/fp16 pattern as float.
inline float to_float(uint16_t bits, ElementType type) {
  if (type == ElementType::bf16) {
    const uint32_t u = uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  __half_raw raw;
  raw.x = bits;
  return __half2float(__half(raw));
}

// ------------------------------------------------------------------------------------------
// Position layouts and names
// ------------------------------------------------------------------------------------------

inline std::vector<int32_t> run(int32_t start, int n, int32_t stride = 1) {
  std::vector<int32_t> p(n);
  for (int i = 0; i < n; ++i) p[i] = start + i * stride;
  return p;
}

inline std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Zigzag ring layout: the sequence is cut into 2P chunks of `chunk` tokens; rank r holds
// chunks r and 2P-1-r.
inline std::vector<int32_t> zigzag(int rank, int ranks, int chunk) {
  return concat(run(rank * chunk, chunk), run((2 * ranks - 1 - rank) * chunk, chunk));
}

inline const char* type_name(ElementType t) {
  return t == ElementType::bf16 ? "bf16" : "fp16";
}
inline const char* mask_name(MaskKind m) {
  return m == MaskKind::causal ? "causal" : "none";
}

}  // namespace ringbench::cuda::check
