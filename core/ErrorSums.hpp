// Partial sums for comparing an output with the reference, so each rank (or each chunk) can
// compare its own rows and the sums combine into one relative error.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

namespace ringbench {

struct ErrorSums {
  double diff2 = 0;        // sum of (O - O_ref)^2
  double ref2 = 0;         // sum of O_ref^2
  double max_abs = 0;      // max |O - O_ref|
  double lse_max_abs = 0;  // max |LSE - LSE_ref| (inf when one is empty and the other not)
};

inline ErrorSums compare_outputs(std::span<const float> o, std::span<const float> lse,
                                 std::span<const float> ref_o, std::span<const float> ref_lse) {
  ErrorSums s;
  for (std::size_t i = 0; i < ref_o.size(); ++i) {
    const double d = double(o[i]) - double(ref_o[i]);
    s.diff2 += d * d;
    s.ref2 += double(ref_o[i]) * double(ref_o[i]);
    s.max_abs = std::max(s.max_abs, std::abs(d));
  }
  for (std::size_t i = 0; i < ref_lse.size(); ++i) {
    if (std::isfinite(ref_lse[i]) != std::isfinite(lse[i]))
      s.lse_max_abs = INFINITY;
    else if (std::isfinite(ref_lse[i]))
      s.lse_max_abs = std::max(s.lse_max_abs, std::abs(double(lse[i]) - double(ref_lse[i])));
  }
  if (!std::isfinite(s.diff2)) s.max_abs = INFINITY;  // NaN outputs must fail the check
  return s;
}

}  // namespace ringbench
