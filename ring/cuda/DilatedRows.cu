#include <stdexcept>

#include "distributed/cuda/CudaCheck.hpp"
#include "ring/cuda/DilatedRows.cuh"

namespace ringbench {

namespace {

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
  if (r.row_bytes % 4 != 0 || r.full_rows % r.rate != 0 || r.heads % r.group != 0)
    throw std::invalid_argument("dilated rows: rows of whole words, rate dividing the rows");
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

}  // namespace

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
