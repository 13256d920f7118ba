#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdexcept>

#include "distributed/cuda/CudaCheck.hpp"
#include "ring/cuda/GradientKernels.cuh"
#include "ring/cuda/PairLoads.cuh"

namespace ringbench {

namespace {

unsigned blocks_for(std::int64_t threads_needed, unsigned threads) {
  return static_cast<unsigned>((threads_needed + threads - 1) / threads);
}

// One warp per row, two values per lane at a time; the sum is reduced across the warp.
template <typename T>
__global__ void row_delta_kernel(const float* __restrict__ o, const T* __restrict__ d_o,
                                 float* __restrict__ delta, T* __restrict__ o_low,
                                 std::int64_t rows, std::int64_t dim) {
  const std::int64_t row = (blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float sum = 0.0f;
  for (std::int64_t d = 2 * lane; d < dim; d += 64) {
    const float2 a = *reinterpret_cast<const float2*>(o + row * dim + d);
    const float2 b = load2(d_o + row * dim + d);
    sum += a.x * b.x + a.y * b.y;
    if (o_low) store2(o_low + row * dim + d, a);
  }
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) delta[row] = sum;
}

// One thread per pair of values of the selected rows.
template <typename T>
__global__ void add_rows_kernel(float* __restrict__ acc, const T* __restrict__ part,
                                std::int64_t head_rows, std::int64_t rows, std::int64_t dim,
                                std::int64_t first, std::int64_t count) {
  const std::int64_t pair = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  const std::int64_t pairs_per_row = dim / 2;
  if (pair >= head_rows * count * pairs_per_row) return;
  const std::int64_t r = pair / pairs_per_row, d = 2 * (pair % pairs_per_row);
  const std::int64_t at = ((r / count) * rows + first + r % count) * dim + d;
  const float2 p = load2(part + at);
  float2 a = *reinterpret_cast<float2*>(acc + at);
  a.x += p.x;
  a.y += p.y;
  *reinterpret_cast<float2*>(acc + at) = a;
}

__global__ void add_values_kernel(float4* __restrict__ acc, const float4* __restrict__ part,
                                  std::size_t count4) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i >= count4) return;
  float4 a = acc[i];
  const float4 p = part[i];
  a.x += p.x;
  a.y += p.y;
  a.z += p.z;
  a.w += p.w;
  acc[i] = a;
}

__global__ void add_tail_kernel(float* acc, const float* part, std::size_t count) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i < count) acc[i] += part[i];
}

}  // namespace

void row_delta(const RowDelta& r, cudaStream_t stream) {
  if (r.rows <= 0) return;
  if (r.dim % 2 != 0) throw std::invalid_argument("row_delta: head dim must be even");
  const unsigned threads = 256, blocks = blocks_for(r.rows * 32, threads);
  if (r.dtype == DType::bf16)
    row_delta_kernel<<<blocks, threads, 0, stream>>>(r.o, static_cast<const __nv_bfloat16*>(r.d_o),
                                                     r.delta, static_cast<__nv_bfloat16*>(r.o_low),
                                                     r.rows, r.dim);
  else
    row_delta_kernel<<<blocks, threads, 0, stream>>>(r.o, static_cast<const __half*>(r.d_o),
                                                     r.delta, static_cast<__half*>(r.o_low), r.rows,
                                                     r.dim);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void add_rows(const AddRows& a, cudaStream_t stream) {
  if (a.count <= 0) return;
  if (a.dim % 2 != 0) throw std::invalid_argument("add_rows: head dim must be even");
  const unsigned threads = 256, blocks = blocks_for(a.head_rows * a.count * a.dim / 2, threads);
  if (a.dtype == DType::bf16)
    add_rows_kernel<<<blocks, threads, 0, stream>>>(a.acc,
                                                    static_cast<const __nv_bfloat16*>(a.part),
                                                    a.head_rows, a.rows, a.dim, a.first, a.count);
  else
    add_rows_kernel<<<blocks, threads, 0, stream>>>(a.acc, static_cast<const __half*>(a.part),
                                                    a.head_rows, a.rows, a.dim, a.first, a.count);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void add_values(float* acc, const float* part, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  const unsigned threads = 256;
  // the bulk four floats at a time where both are 16-byte aligned (always so in the ring: an
  // accumulator starts after its block's K/V bytes, a multiple of 16 for every allowed head dim;
  // the scalar path keeps other callers correct)
  const bool aligned =
      (reinterpret_cast<std::uintptr_t>(acc) | reinterpret_cast<std::uintptr_t>(part)) % 16 == 0;
  const std::size_t count4 = aligned ? count / 4 : 0, tail = count - 4 * count4;
  if (count4 > 0)
    add_values_kernel<<<blocks_for(static_cast<std::int64_t>(count4), threads), threads, 0,
                        stream>>>(reinterpret_cast<float4*>(acc),
                                  reinterpret_cast<const float4*>(part), count4);
  if (tail > 0)
    add_tail_kernel<<<blocks_for(static_cast<std::int64_t>(tail), threads), threads, 0, stream>>>(
        acc + 4 * count4, part + 4 * count4, tail);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

}  // namespace ringbench
