// Merges a block's partial result (O in bf16/fp16 as a dense kernel writes it, its LSE in fp32)
// into the running fp32 result, for a range of query rows: one vectorised pass over those rows.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/ProblemSpec.hpp"

namespace ringbench {

struct MergeRows {
  float* o_acc;               // [batch*heads, rows, dim]
  float* lse_acc;             // [batch*heads, rows]
  const void* o_block;        // [batch*heads, rows, dim], dtype
  const float* lse_block;     // [batch*heads, rows]
  std::int64_t head_rows;     // batch * heads
  std::int64_t rows, dim;     // rows per head in the buffers, head dim
  std::int64_t first, count;  // the rows to merge
  DType dtype;
};

void merge_rows(const MergeRows& m, cudaStream_t stream);

}  // namespace ringbench
