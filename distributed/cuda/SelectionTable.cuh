// Row selections as a kernel parameter (DeviceRows, and the generated rows of DeviceFill).
#pragma once

#include <cstdint>

#include "core/RowSelection.hpp"

namespace ringbench {

inline constexpr int kMaxSelections = 64;

// Row selections by value (kernels take them as parameters, no device allocation), with the
// rows before each: a thread finds its selection by a scan.
struct SelectionTable {
  RowSelection rows[kMaxSelections];
  std::int64_t before[kMaxSelections + 1] = {0};
  int count = 0;

  void add(const RowSelection& r) {
    rows[count] = r;
    before[count + 1] = before[count] + r.count;
    ++count;
  }
  __host__ __device__ std::int64_t total() const { return before[count]; }
  __device__ std::int64_t row(std::int64_t k) const {  // the k-th selected local row
    int s = 0;
    while (s + 1 < count && before[s + 1] <= k) ++s;
    return rows[s].first + (k - before[s]) * rows[s].stride;
  }
};

}  // namespace ringbench
