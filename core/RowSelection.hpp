// Rows of a block picked by arithmetic progressions: what a dilated pattern reads of a key block
// (every rate-th row of the pairs reaching it), and so what of the block needs to be generated
// (an emulated member) or to travel the ring (the far steps of a LongNet ring).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ringbench {

// Rows first, first + stride, ... (count of them) of a block, by local index.
struct RowSelection {
  std::int64_t first = 0, stride = 1, count = 0;
};

inline std::int64_t row_count(std::span<const RowSelection> rows) {
  std::int64_t n = 0;
  for (const RowSelection& r : rows) n += r.count;
  return n;
}

}  // namespace ringbench
