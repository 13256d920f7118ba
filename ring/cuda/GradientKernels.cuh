// Element-wise kernels of the GPU backward pass around the block kernels: the row statistic
// D = rowsum(dO ∘ O) at the start of a pass, folding a partial gradient into an fp32 accumulator,
// and folding a rank's dK/dV share into the travelling accumulator.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "core/ProblemSpec.hpp"

namespace ringbench {

// delta[r] = Σ_d O[r,d]·dO[r,d] over `rows` rows of `dim` values (O fp32, dO in dtype). Where
// o_low is not null it also receives O rounded to dtype: what a kernel that reads O in the input
// type (cuDNN) needs.
struct RowDelta {
  const float* o;
  const void* d_o;
  float* delta;
  void* o_low;
  std::int64_t rows, dim;
  DType dtype;
};
void row_delta(const RowDelta& r, cudaStream_t stream);

// acc[h][first + i][:] += part[h][first + i][:] for i < count and every h < head_rows, where
// both are [head_rows, rows, dim] and part is in dtype: a dense kernel's bf16/fp16 gradient of a
// range of rows, added into the fp32 accumulator.
struct AddRows {
  float* acc;
  const void* part;
  std::int64_t head_rows, rows, dim;
  std::int64_t first, count;
  DType dtype;
};
void add_rows(const AddRows& a, cudaStream_t stream);

// acc[i] += part[i] for i < count.
void add_values(float* acc, const float* part, std::size_t count, cudaStream_t stream);

}  // namespace ringbench
