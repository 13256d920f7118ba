#include "core/patterns/DilatedPattern.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "core/patterns/PositionMath.hpp"

namespace ringbench {

namespace {
// Smallest p >= x with p mod r = offset, and largest p <= x.
std::int64_t class_at_or_after(std::int64_t x, std::int64_t r, std::int64_t offset) {
  return x + (((offset - x) % r) + r) % r;
}
std::int64_t class_at_or_before(std::int64_t x, std::int64_t r, std::int64_t offset) {
  return x - (((x - offset) % r) + r) % r;
}
}  // namespace

DilatedPattern::DilatedPattern(std::vector<DilatedBranch> branches, bool causal)
    : branches_(std::move(branches)), causal_(causal), head_period_(1) {
  // every Ri divides Wi, which divides the sequence length (< 2^31): the lcm fits an int
  std::int64_t period = 1;
  for (const auto& b : branches_) period = std::lcm(period, b.dilation);
  head_period_ = static_cast<int>(period);
}

std::string DilatedPattern::spec() const {
  std::string segments, dilations;
  for (const auto& b : branches_) {
    if (!segments.empty()) segments += ',', dilations += ',';
    segments += std::to_string(b.segment);
    dilations += std::to_string(b.dilation);
  }
  return "dilated:" + segments + ":" + dilations + (causal_ ? "+causal" : "");
}

bool DilatedPattern::allows(std::int64_t q, std::int64_t k, int head, int branch) const {
  const DilatedBranch& b = branches_[branch];
  const std::int64_t c = head % b.dilation;
  return q / b.segment == k / b.segment && q % b.dilation == c && k % b.dilation == c &&
         (!causal_ || k <= q);
}

bool DilatedPattern::segment_has_pair(std::int64_t q_first, std::int64_t q_last,
                                      std::int64_t k_first, std::int64_t k_last,
                                      std::int64_t segment, std::int64_t w, std::int64_t r,
                                      std::int64_t offset) const {
  // the selected positions of the box's query and key ranges inside this segment
  const std::int64_t lo = segment * w, hi = lo + w - 1;
  const std::int64_t q_hi = class_at_or_before(std::min(q_last, hi), r, offset);
  const std::int64_t k_lo = class_at_or_after(std::max(k_first, lo), r, offset);
  const bool queries = q_hi >= std::max(q_first, lo);
  const bool keys = k_lo <= std::min(k_last, hi);
  return queries && keys && (!causal_ || k_lo <= q_hi);
}

std::vector<PositionRun> DilatedPattern::allowed_keys(std::int64_t q, int head, int branch,
                                                      std::int64_t seq_len) const {
  const std::int64_t w = branches_[branch].segment, r = branches_[branch].dilation;
  const std::int64_t c = head % r;
  if (q < 0 || q >= seq_len || q % r != c) return {};
  // r divides w, so the segment's first selected key is its start + c; q is one of the keys
  const std::int64_t start = q / w * w;
  const std::int64_t first = start + c;
  const std::int64_t last =
      class_at_or_before(causal_ ? q : std::min(start + w, seq_len) - 1, r, c);
  const std::int64_t length = (last - first) / r + 1;
  return {{0, first, length, length == 1 ? 1 : r}};
}

std::optional<MaskTerms> DilatedPattern::mask_terms() const {
  if (branches_.size() != 1 || branches_[0].dilation != 1) return std::nullopt;
  return MaskTerms{Band{}, 0, false, 0, causal_, branches_[0].segment};
}

Coverage DilatedPattern::coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                                  std::int64_t k_last, int head, int branch) const {
  const std::int64_t w = branches_[branch].segment, r = branches_[branch].dilation;
  const std::int64_t c = head % r;
  // segments both ranges reach; one strictly inside holds a selected pair (k = q)
  const std::int64_t s_lo = std::max(q_first / w, k_first / w);
  const std::int64_t s_hi = std::min(q_last / w, k_last / w);
  if (s_lo > s_hi) return Coverage::none;
  if (s_hi - s_lo < 2 && !segment_has_pair(q_first, q_last, k_first, k_last, s_lo, w, r, c) &&
      !segment_has_pair(q_first, q_last, k_first, k_last, s_hi, w, r, c))
    return Coverage::none;
  // full: one segment, every position selected (r = 1, or a single selected position per side)
  const bool one_segment = q_first / w == q_last / w && k_first / w == k_last / w && s_lo == s_hi;
  const bool queries_selected = r == 1 || (q_first == q_last && q_first % r == c);
  const bool keys_selected = r == 1 || (k_first == k_last && k_first % r == c);
  const bool causal_ok = !causal_ || k_last <= q_first;
  if (one_segment && queries_selected && keys_selected && causal_ok) return Coverage::full;
  return Coverage::partial;
}

std::int64_t DilatedPattern::segment_count(const PositionRun& q, const PositionRun& k,
                                           std::int64_t segment, std::int64_t w) const {
  const PositionRun qs = restrict_to(q, segment * w, segment * w + w - 1);
  const PositionRun ks = restrict_to(k, segment * w, segment * w + w - 1);
  return causal_ ? sum_keys_at_or_below(qs, ks, 0) : qs.length * ks.length;
}

std::int64_t DilatedPattern::branch_count(const PositionRun& q_run, const PositionRun& k_run,
                                          int head, int branch) const {
  const std::int64_t w = branches_[branch].segment, r = branches_[branch].dilation;
  const PositionRun q = restrict_to_residue(q_run, head % r, r);
  const PositionRun k = restrict_to_residue(k_run, head % r, r);
  if (q.length == 0 || k.length == 0) return 0;
  const std::int64_t s_lo = std::max(q.first() / w, k.first() / w);
  const std::int64_t s_hi = std::min(q.last() / w, k.last() / w);
  std::int64_t total = 0;
  // Segments inside both runs' spans hold the same relative positions when both strides divide
  // w: count one and multiply. Only the (at most two) segments at the ends differ.
  const std::int64_t in_lo = ceil_div(std::max(q.first(), k.first()), w);
  const std::int64_t in_hi = floor_div(std::min(q.last(), k.last()) + 1, w) - 1;
  const bool uniform = w % q.stride == 0 && w % k.stride == 0 && in_lo <= in_hi;
  for (std::int64_t s = s_lo; s <= s_hi; ++s) {
    if (uniform && s == in_lo) {
      total += (in_hi - in_lo + 1) * segment_count(q, k, s, w);
      s = in_hi;
      continue;
    }
    total += segment_count(q, k, s, w);
  }
  return total;
}

std::int64_t DilatedPattern::count_allowed(const PositionRun& q, const PositionRun& k,
                                           int head) const {
  std::int64_t total = 0;
  for (int b = 0; b < branches(); ++b) total += branch_count(q, k, head, b);
  return total;
}

std::vector<int> DilatedPattern::branches_reading(std::span<const PositionRun> q_runs,
                                                  std::span<const PositionRun> k_runs,
                                                  std::int64_t heads) const {
  std::vector<int> reaching;
  for (int b = 0; b < branches(); ++b) {
    bool reached = false;
    for (std::int64_t h = 0; h < std::min<std::int64_t>(heads, head_period_) && !reached; ++h)
      for (const PositionRun& q : q_runs)
        for (const PositionRun& k : k_runs)
          reached = reached || coverage(q.first(), q.last(), k.first(), k.last(),
                                        static_cast<int>(h), b) != Coverage::none;
    if (reached) reaching.push_back(b);
  }
  // Branch a reads every row branch b reads (rows whose position mod r is one of the heads'
  // offsets 0 .. min(heads, r) - 1) when its rate divides b's and it has as many offsets, or all.
  const auto covers = [&](int a, int b) {
    const std::int64_t ra = branches_[a].dilation, rb = branches_[b].dilation;
    return rb % ra == 0 &&
           (std::min(heads, ra) == ra || std::min(heads, rb) <= std::min(heads, ra));
  };
  std::vector<int> kept;
  for (int b : reaching) {
    bool redundant = false;
    for (int a : reaching)  // of two branches reading the same rows, the first stays
      redundant = redundant || (a != b && covers(a, b) && (!covers(b, a) || a < b));
    if (!redundant) kept.push_back(b);
  }
  return kept;
}

std::optional<std::vector<RowSelection>> DilatedPattern::key_rows_read(
    std::span<const PositionRun> q_runs, std::span<const PositionRun> k_runs,
    std::int64_t heads) const {
  std::int64_t tokens = 0;
  for (const PositionRun& k : k_runs) {
    if (k.stride != 1) return std::nullopt;
    tokens += k.length;
  }
  std::vector<RowSelection> rows;
  for (int b : branches_reading(q_runs, k_runs, heads)) {
    const std::int64_t r = branches_[b].dilation;
    if (r == 1) return std::nullopt;
    for (std::int64_t o = 0; o < std::min(heads, r); ++o)  // the offsets h mod r of the heads
      for (const PositionRun& k : k_runs) {
        const std::int64_t p = class_at_or_after(k.global_start, r, o);
        if (p > k.last()) continue;
        rows.push_back({k.local_start + (p - k.global_start), r, (k.last() - p) / r + 1});
      }
  }
  if (row_count(rows) >= tokens) return std::nullopt;
  return rows;
}

std::int64_t DilatedPattern::key_rows_read_count(std::span<const PositionRun> q_runs,
                                                 std::span<const PositionRun> k_runs,
                                                 std::int64_t heads) const {
  std::int64_t tokens = 0;
  bool strided = false;
  for (const PositionRun& k : k_runs) tokens += k.length, strided = strided || k.stride != 1;
  if (strided) return tokens;
  std::int64_t count = 0;
  for (int b : branches_reading(q_runs, k_runs, heads)) {
    const std::int64_t r = branches_[b].dilation;
    for (std::int64_t o = 0; o < std::min(heads, r); ++o)
      for (const PositionRun& k : k_runs) {
        const std::int64_t p = class_at_or_after(k.global_start, r, o);
        if (p <= k.last()) count += (k.last() - p) / r + 1;
      }
  }
  return std::min(count, tokens);
}

bool DilatedPattern::reads_row_subsets() const {
  return std::any_of(branches_.begin(), branches_.end(),
                     [](const DilatedBranch& b) { return b.dilation > 1; });
}

}  // namespace ringbench
