#include <stdexcept>

#include "distributed/cuda/CudaCheck.hpp"
#include "ring/cuda/DilatedRows.cuh"

namespace ringbench {

namespace {

void require_whole(const DilatedRows& r) {
  if (r.row_bytes % 4 != 0 || r.full_rows % r.rate != 0 || r.heads % r.group != 0)
    throw std::invalid_argument("dilated rows: rows of whole words, rate dividing the rows");
}

// One thread per word of a gathered row; `gather` picks the direction.
template <typename Word, bool kGather>
__global__ void dilated_rows_kernel(DilatedRows r, const Word* from, Word* to) {
  const std::int64_t words = r.row_bytes / sizeof(Word), rows = r.full_rows / r.rate;
  const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (i >= std::int64_t(r.batch) * r.heads * rows * words) return;
  const std::int64_t word = i % words, j = (i / words) % rows;
  const std::int64_t head_row = i / (words * rows);  // batch * heads + head
  const int head = static_cast<int>(head_row % r.heads);
  const std::int64_t batch = head_row / r.heads;
  const std::int64_t full_head = batch * (r.heads / r.group) + head / r.group;
  const std::int64_t full = (full_head * r.full_rows + head % r.rate + r.rate * j) * words + word;
  const std::int64_t gathered = (head_row * rows + j) * words + word;
  if constexpr (kGather)
    to[gathered] = from[full];
  else
    to[full] = from[gathered];
}

template <bool kGather>
void launch(const DilatedRows& r, const void* from, void* to, cudaStream_t stream) {
  require_whole(r);
  const bool wide = r.row_bytes % 16 == 0;
  const std::int64_t words = r.row_bytes / (wide ? 16 : 4);
  const std::int64_t threads = std::int64_t(r.batch) * r.heads * r.rows() * words;
  if (threads == 0) return;
  const unsigned block = 256, grid = static_cast<unsigned>((threads + block - 1) / block);
  if (wide)
    dilated_rows_kernel<uint4, kGather>
        <<<grid, block, 0, stream>>>(r, static_cast<const uint4*>(from), static_cast<uint4*>(to));
  else
    dilated_rows_kernel<std::uint32_t, kGather><<<grid, block, 0, stream>>>(
        r, static_cast<const std::uint32_t*>(from), static_cast<std::uint32_t*>(to));
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

// One thread per fp32 word of the full layout: the sum over the gathered heads of its group that
// selected its row (those whose offset head mod rate is the row's), added in place. No atomics:
// each word has one writer, so the sum is deterministic.
template <typename Word>
__global__ void add_dilated_rows_kernel(DilatedRows r, const Word* gathered, Word* full) {
  const std::int64_t words = r.row_bytes / sizeof(Word), rows = r.full_rows / r.rate;
  const int full_heads = r.heads / r.group;
  const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (i >= std::int64_t(r.batch) * full_heads * r.full_rows * words) return;
  const std::int64_t word = i % words, p = (i / words) % r.full_rows;
  const std::int64_t full_head = i / (words * r.full_rows);  // batch * full_heads + head
  const std::int64_t batch = full_head / full_heads, first = (full_head % full_heads) * r.group;
  Word sum = full[i];
  for (int h = static_cast<int>(first); h < first + r.group; ++h) {
    if (h % r.rate != p % r.rate) continue;
    const Word g = gathered[((batch * r.heads + h) * rows + p / r.rate) * words + word];
    if constexpr (sizeof(Word) == sizeof(float4))
      sum.x += g.x, sum.y += g.y, sum.z += g.z, sum.w += g.w;
    else
      sum += g;
  }
  full[i] = sum;
}

}  // namespace

void add_dilated_rows(const DilatedRows& r, const float* gathered, float* full,
                      cudaStream_t stream) {
  require_whole(r);
  const bool wide = r.row_bytes % 16 == 0;
  const std::int64_t words = r.row_bytes / (wide ? 16 : 4);
  const std::int64_t threads = std::int64_t(r.batch) * (r.heads / r.group) * r.full_rows * words;
  if (threads == 0) return;
  const unsigned block = 256, grid = static_cast<unsigned>((threads + block - 1) / block);
  if (wide)
    add_dilated_rows_kernel<float4><<<grid, block, 0, stream>>>(
        r, reinterpret_cast<const float4*>(gathered), reinterpret_cast<float4*>(full));
  else
    add_dilated_rows_kernel<float><<<grid, block, 0, stream>>>(r, gathered, full);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void gather_dilated_rows(const DilatedRows& r, const void* full, void* gathered,
                         cudaStream_t stream) {
  launch<true>(r, full, gathered, stream);
}

void scatter_dilated_rows(const DilatedRows& r, const void* gathered, void* full,
                          cudaStream_t stream) {
  if (r.group != 1) throw std::invalid_argument("scatter_dilated_rows: group must be 1");
  launch<false>(r, gathered, full, stream);
}

}  // namespace ringbench
