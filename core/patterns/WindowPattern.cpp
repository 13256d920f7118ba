#include "core/patterns/WindowPattern.hpp"

#include <algorithm>

#include "core/patterns/PositionMath.hpp"

namespace ringbench {

WindowPattern::WindowPattern(std::int64_t left, std::int64_t right, bool causal)
    : left_(left), right_(right), causal_(causal) {}

std::string WindowPattern::spec() const {
  return "window:" + std::to_string(left_) + ":" + std::to_string(right_) +
         (causal_ ? "+causal" : "");
}

Coverage band_coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                       std::int64_t k_last, std::int64_t lo, std::int64_t hi) {
  // the band's lowest key is at the box's first query, its highest at the last
  if (k_last < q_first + lo || k_first > q_last + hi) return Coverage::none;
  if (k_first >= q_last + lo && k_last <= q_first + hi) return Coverage::full;
  return Coverage::partial;
}

Coverage WindowPattern::coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                                 std::int64_t k_last, int, int) const {
  return band_coverage(q_first, q_last, k_first, k_last, -left_, reach());
}

std::int64_t WindowPattern::count_allowed(const PositionRun& q, const PositionRun& k, int) const {
  return count_in_band(q, k, -left_, reach());
}

std::vector<PositionRun> WindowPattern::allowed_keys(std::int64_t q, int, int,
                                                     std::int64_t seq_len) const {
  const std::int64_t first = std::max<std::int64_t>(0, q - left_);
  const std::int64_t last = std::min(seq_len - 1, q + reach());
  if (first > last) return {};
  return {{0, first, last - first + 1, 1}};
}

}  // namespace ringbench
