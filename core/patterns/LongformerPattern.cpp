#include "core/patterns/LongformerPattern.hpp"

#include <algorithm>

#include "core/patterns/PositionMath.hpp"
#include "core/patterns/WindowPattern.hpp"

namespace ringbench {

LongformerPattern::LongformerPattern(std::int64_t left, std::int64_t right, std::int64_t globals,
                                     bool causal)
    : left_(left), right_(right), globals_(globals), causal_(causal) {}

std::string LongformerPattern::spec() const {
  return "longformer:" + std::to_string(left_) + ":" + std::to_string(right_) + ":" +
         std::to_string(globals_) + (causal_ ? "+causal" : "");
}

Coverage LongformerPattern::coverage_without_causal(std::int64_t q_first, std::int64_t q_last,
                                                    std::int64_t k_first,
                                                    std::int64_t k_last) const {
  const std::int64_t g = globals_;
  if (q_last < g || k_last < g) return Coverage::full;  // every pair has a global end
  // pairs with a global end are allowed; the rest is the window on the non-global sub-box
  const Coverage rest =
      band_coverage(std::max(q_first, g), q_last, std::max(k_first, g), k_last, -left_, right_);
  if (rest == Coverage::full) return Coverage::full;
  if (rest == Coverage::none && q_first >= g && k_first >= g) return Coverage::none;
  return Coverage::partial;
}

Coverage LongformerPattern::coverage(std::int64_t q_first, std::int64_t q_last,
                                     std::int64_t k_first, std::int64_t k_last, int, int) const {
  if (!causal_) return coverage_without_causal(q_first, q_last, k_first, k_last);
  // Under causal a pair is allowed when k <= q and (k >= q - L or k < G). A box wholly below
  // the diagonal is as without causal. One crossing it has a disallowed pair (q_first, k_last)
  // and always an allowed one: the causal band [q - L, q] of its queries meets its keys.
  if (k_first > q_last) return Coverage::none;
  if (k_last <= q_first) return coverage_without_causal(q_first, q_last, k_first, k_last);
  return Coverage::partial;
}

std::int64_t LongformerPattern::count_allowed(const PositionRun& q, const PositionRun& k,
                                              int) const {
  const std::int64_t g = globals_;
  const PositionRun global_keys = restrict_to(k, 0, g - 1),
                    other_keys = restrict_to(k, g, k.last());
  if (causal_) {
    // the global keys at or before each query, and the causal window over the other keys
    return sum_keys_at_or_below(q, global_keys, 0) + count_in_band(q, other_keys, -left_, 0);
  }
  const PositionRun global_queries = restrict_to(q, 0, g - 1),
                    other_queries = restrict_to(q, g, q.last());
  return q.length * global_keys.length + global_queries.length * other_keys.length +
         count_in_band(other_queries, other_keys, -left_, right_);
}

}  // namespace ringbench
