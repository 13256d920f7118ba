#include "core/AttentionPattern.hpp"

#include <algorithm>

namespace ringbench {

std::int64_t AttentionPattern::count_allowed(const PositionRun& q, const PositionRun& k) const {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < q.length; ++i)
    for (std::int64_t j = 0; j < k.length; ++j)
      n += allows(q.global_start + i * q.stride, k.global_start + j * k.stride) ? 1 : 0;
  return n;
}

Coverage CausalPattern::coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                                 std::int64_t k_last) const {
  if (k_last <= q_first) return Coverage::full;
  if (k_first > q_last) return Coverage::none;
  return Coverage::partial;
}

namespace {
// Keys of run k at or before position p.
std::int64_t keys_at_or_before(const PositionRun& k, std::int64_t p) {
  if (p < k.global_start) return 0;
  return std::min(k.length, (p - k.global_start) / k.stride + 1);
}
}  // namespace

std::int64_t CausalPattern::count_allowed(const PositionRun& q, const PositionRun& k) const {
  if (q.stride != 1 || k.stride != 1) {
    std::int64_t n = 0;
    for (std::int64_t i = 0; i < q.length; ++i)
      n += keys_at_or_before(k, q.global_start + i * q.stride);
    return n;
  }
  // Unit strides: sum over p in [a, a+n) of clamp(p - b + 1, 0, m), in closed form.
  const std::int64_t a = q.global_start, n = q.length, b = k.global_start, m = k.length;
  std::int64_t total = 0;
  const std::int64_t ramp_lo = std::max(a, b), ramp_hi = std::min(a + n, b + m - 1);
  if (ramp_hi > ramp_lo) {
    const std::int64_t first = ramp_lo - b + 1, last = ramp_hi - 1 - b + 1;
    total += (first + last) * (ramp_hi - ramp_lo) / 2;
  }
  const std::int64_t full_lo = std::max(a, b + m - 1);
  if (a + n > full_lo) total += (a + n - full_lo) * m;
  return total;
}

std::shared_ptr<const AttentionPattern> make_pattern(MaskKind kind) {
  if (kind == MaskKind::causal) return std::make_shared<CausalPattern>();
  return std::make_shared<FullPattern>();
}

std::int64_t count_allowed(const AttentionPattern& pattern, std::span<const PositionRun> q_runs,
                           std::span<const PositionRun> k_runs) {
  std::int64_t n = 0;
  for (const auto& q : q_runs)
    for (const auto& k : k_runs) n += pattern.count_allowed(q, k);
  return n;
}

}  // namespace ringbench
