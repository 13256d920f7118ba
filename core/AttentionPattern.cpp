#include "core/AttentionPattern.hpp"

#include <algorithm>

#include "core/Error.hpp"
#include "core/PatternSpec.hpp"

namespace ringbench {

std::int64_t AttentionPattern::count_allowed(const PositionRun& q, const PositionRun& k,
                                             int head) const {
  // The definition, pair by pair: patterns override it with closed forms; tests compare them.
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < q.length; ++i)
    for (std::int64_t j = 0; j < k.length; ++j)
      n += multiplicity(q.global_start + i * q.stride, k.global_start + j * k.stride, head);
  return n;
}

namespace {

// Below this many keys a partial box is settled key by key: cheaper than more coverage calls.
constexpr std::int64_t kBisectionLeaf = 16;

// Appends keys first..last (stride 1), extending the last run when it ends just before them.
void append_keys(std::vector<PositionRun>& runs, std::int64_t first, std::int64_t last) {
  if (!runs.empty() && runs.back().stride == 1 && runs.back().last() + 1 == first) {
    runs.back().length += last - first + 1;
    return;
  }
  const std::int64_t before = runs.empty() ? 0 : runs.back().local_start + runs.back().length;
  runs.push_back({before, first, last - first + 1, 1});
}

// The allowed keys of q in [k_first, k_last], in order. Coverage none and full are never wrong,
// so only partial boxes are split, down to single keys judged by allows(): exact even where a
// pattern's partial is conservative.
void bisect_keys(const AttentionPattern& p, std::int64_t q, int head, int branch,
                 std::int64_t k_first, std::int64_t k_last, std::vector<PositionRun>& runs) {
  const Coverage cover = p.coverage(q, q, k_first, k_last, head, branch);
  if (cover == Coverage::none) return;
  if (cover == Coverage::full) return append_keys(runs, k_first, k_last);
  if (k_last - k_first < kBisectionLeaf) {
    for (std::int64_t k = k_first; k <= k_last; ++k)
      if (p.allows(q, k, head, branch)) append_keys(runs, k, k);
    return;
  }
  const std::int64_t mid = k_first + (k_last - k_first) / 2;
  bisect_keys(p, q, head, branch, k_first, mid, runs);
  bisect_keys(p, q, head, branch, mid + 1, k_last, runs);
}

}  // namespace

std::vector<PositionRun> AttentionPattern::allowed_keys(std::int64_t q, int head, int branch,
                                                        std::int64_t seq_len) const {
  std::vector<PositionRun> runs;
  if (seq_len > 0) bisect_keys(*this, q, head, branch, 0, seq_len - 1, runs);
  return runs;
}

std::optional<MaskTerms> AttentionPattern::mask_terms() const {
  // a band is its own one term (none, causal, window); the other patterns say theirs
  if (const auto b = band()) return MaskTerms{b, 0, false, 0, false, 0};
  return std::nullopt;
}

std::int64_t AttentionPattern::key_rows_read_count(std::span<const PositionRun> q_runs,
                                                   std::span<const PositionRun> k_runs,
                                                   std::int64_t heads) const {
  if (const auto rows = key_rows_read(q_runs, k_runs, heads)) return row_count(*rows);
  std::int64_t tokens = 0;
  for (const PositionRun& k : k_runs) tokens += k.length;
  return tokens;
}

BlockBitmap AttentionPattern::block_bitmap() const {
  const BlockMap map = block_map();
  BlockBitmap out{map.block, map.blocks, (map.blocks + 31) / 32, {}};
  out.bits.assign(static_cast<std::size_t>(map.blocks * out.words), 0u);
  for (std::int64_t i = 0; i < map.blocks; ++i)
    for (std::int64_t j = 0; j < map.blocks; ++j)
      if (map.kept[static_cast<std::size_t>(i * map.blocks + j)])
        out.bits[static_cast<std::size_t>(i * out.words + j / 32)] |= 1u << (j % 32);
  return out;
}

int AttentionPattern::multiplicity(std::int64_t q, std::int64_t k, int head) const {
  int n = 0;
  for (int b = 0; b < branches(); ++b) n += allows(q, k, head, b) ? 1 : 0;
  return n;
}

Coverage CausalPattern::coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                                 std::int64_t k_last, int, int) const {
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

std::int64_t CausalPattern::count_allowed(const PositionRun& q, const PositionRun& k, int) const {
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

std::int64_t count_allowed(const AttentionPattern& pattern, std::span<const PositionRun> q_runs,
                           std::span<const PositionRun> k_runs, int head) {
  std::int64_t n = 0;
  for (const auto& q : q_runs)
    for (const auto& k : k_runs) n += pattern.count_allowed(q, k, head);
  return n;
}

std::int64_t count_allowed_all_heads(const AttentionPattern& pattern,
                                     std::span<const PositionRun> q_runs,
                                     std::span<const PositionRun> k_runs, std::int64_t heads) {
  const std::int64_t period = std::max(1, pattern.head_period());
  std::int64_t total = 0;
  for (std::int64_t h = 0; h < std::min(heads, period); ++h) {
    // heads h, h + period, h + 2·period, ... below `heads` see the same pattern
    const std::int64_t copies = (heads - 1 - h) / period + 1;
    total += copies * count_allowed(pattern, q_runs, k_runs, static_cast<int>(h));
  }
  return total;
}

bool any_allowed(const AttentionPattern& pattern, std::span<const PositionRun> q_runs,
                 std::span<const PositionRun> k_runs, std::int64_t heads) {
  // Coverage of the runs' boxes settles most steps at once; the exact count settles the rest
  // (a box can hold allowed position pairs that no token pair of the two ranks takes).
  bool maybe = false;
  const std::int64_t period = std::min<std::int64_t>(heads, std::max(1, pattern.head_period()));
  for (std::int64_t h = 0; h < period && !maybe; ++h)
    for (int b = 0; b < pattern.branches() && !maybe; ++b)
      for (const auto& q : q_runs)
        for (const auto& k : k_runs)
          maybe = maybe || pattern.coverage(q.first(), q.last(), k.first(), k.last(),
                                            static_cast<int>(h), b) != Coverage::none;
  return maybe && count_allowed_all_heads(pattern, q_runs, k_runs, period) > 0;
}

MaskKind dense_mask_kind(const std::string& spec, std::int64_t seq_len) {
  if (const auto kind = make_pattern(spec, seq_len)->dense_kind()) return *kind;
  throw ConfigError("mask", spec, "none or causal here (the GPU kernels take the dense masks)");
}

}  // namespace ringbench
