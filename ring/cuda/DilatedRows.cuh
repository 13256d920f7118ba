// The rows one pair of a dilated pattern selects, moved between the full layout
// [batch, heads, rows, ...] and a gathered dense one [batch, heads, rows / rate, ...]: gathered
// row j of head h is full row (h mod rate) + rate * j of head h / group. The group (GQA) lets
// every query head gather its own copy of its kv head's rows, as the offsets differ per head.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ringbench {

struct DilatedRows {
  int batch = 1;
  int heads = 1;               // heads of the gathered layout
  int group = 1;               // gathered heads per full head (the full layout has heads / group)
  std::int64_t full_rows = 0;  // rows per head in the full layout, a multiple of rate
  int rate = 1;
  std::int64_t row_bytes = 0;  // a multiple of 4

  std::int64_t rows() const { return full_rows / rate; }
};

void gather_dilated_rows(const DilatedRows& r, const void* full, void* gathered,
                         cudaStream_t stream);
// The reverse (group 1): gathered rows written back to their places in the full layout.
void scatter_dilated_rows(const DilatedRows& r, const void* gathered, void* full,
                          cudaStream_t stream);

// The backward's reverse for fp32 gradients: every full row gains the gathered rows that came
// from it, summed over the gathered heads of its group (GQA: the query heads sharing a kv head).
void add_dilated_rows(const DilatedRows& r, const float* gathered, float* full,
                      cudaStream_t stream);

}  // namespace ringbench
