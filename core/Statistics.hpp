// Summary statistics of repeated timings.
#pragma once

#include <span>

namespace ringbench {

struct Summary {
  double mean = 0, std = 0, min = 0, max = 0, median = 0, p95 = 0;
  std::size_t count = 0;
};

// Sample standard deviation (n-1); percentiles by linear interpolation between order statistics.
// An empty input gives all zeros.
Summary summarize(std::span<const double> values);
double percentile(std::span<const double> values, double fraction);  // fraction in [0, 1]

}  // namespace ringbench
