#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdexcept>

#include "distributed/cuda/CudaCheck.hpp"
#include "ring/cuda/MergeKernel.cuh"
#include "ring/cuda/PairLoads.cuh"

namespace ringbench {

namespace {

// One warp per row: lanes read the row's values two at a time (coalesced), weights are computed
// once per row from the two LSEs (the softmax merge of SoftmaxMerge.hpp).
template <typename T>
__global__ void merge_kernel(float* __restrict__ o_acc, float* __restrict__ lse_acc,
                             const T* __restrict__ o_blk, const float* __restrict__ lse_blk,
                             std::int64_t head_rows, std::int64_t rows, std::int64_t dim,
                             std::int64_t first, std::int64_t count) {
  const std::int64_t warp = (blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= head_rows * count) return;
  const std::int64_t row = (warp / count) * rows + first + warp % count;
  const float lb = lse_blk[row];
  const float la = lse_acc[row];
  if (lb == -INFINITY) return;  // the block held nothing for this row
  float wa = 0.0f, wb = 1.0f, l = lb;
  if (la != -INFINITY) {
    const float hi = fmaxf(la, lb);
    l = hi + log1pf(expf(fminf(la, lb) - hi));
    wa = expf(la - l);
    wb = expf(lb - l);
  }
  float* out = o_acc + row * dim;
  const T* in = o_blk + row * dim;
  for (std::int64_t d = 2 * lane; d < dim; d += 64) {
    const float2 b = load2(in + d);
    float2 a = *reinterpret_cast<float2*>(out + d);
    a.x = a.x * wa + b.x * wb;  // wa = 0 when the accumulator was empty (its content is ignored)
    a.y = a.y * wa + b.y * wb;
    if (wa == 0.0f) a = make_float2(b.x * wb, b.y * wb);
    *reinterpret_cast<float2*>(out + d) = a;
  }
  __syncwarp();
  if (lane == 0) lse_acc[row] = l;
}

}  // namespace

void merge_rows(const MergeRows& m, cudaStream_t stream) {
  if (m.count <= 0) return;
  if (m.dim % 2 != 0) throw std::invalid_argument("merge_rows: head dim must be even");
  const std::int64_t warps = m.head_rows * m.count;
  const unsigned threads = 256,
                 blocks = static_cast<unsigned>((warps * 32 + threads - 1) / threads);
  if (m.dtype == DType::bf16)
    merge_kernel<<<blocks, threads, 0, stream>>>(
        m.o_acc, m.lse_acc, static_cast<const __nv_bfloat16*>(m.o_block), m.lse_block, m.head_rows,
        m.rows, m.dim, m.first, m.count);
  else
    merge_kernel<<<blocks, threads, 0, stream>>>(m.o_acc, m.lse_acc,
                                                 static_cast<const __half*>(m.o_block), m.lse_block,
                                                 m.head_rows, m.rows, m.dim, m.first, m.count);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

}  // namespace ringbench
