#include "ring/SampledRowCheck.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/InputGenerator.hpp"
#include "core/RowReference.hpp"

namespace ringbench {

std::vector<std::int64_t> sampled_positions(std::int64_t seq_len, std::int64_t rows) {
  std::vector<std::int64_t> positions;
  for (std::int64_t i = 0; i < rows; ++i) positions.push_back(((2 * i + 1) * seq_len) / (2 * rows));
  return positions;
}

std::vector<std::int64_t> sampled_positions(const SequenceLayout& layout, std::int64_t rows,
                                            std::span<const int> played) {
  if (played.empty() || static_cast<int>(played.size()) == layout.ranks())
    return sampled_positions(layout.seq_len(), rows);
  const std::int64_t n = layout.local_len(), tokens = n * static_cast<std::int64_t>(played.size());
  std::vector<std::int64_t> positions;
  for (const std::int64_t j : sampled_positions(tokens, std::min(rows, tokens))) {
    const std::int64_t local = j % n;
    for (const PositionRun& r : layout.runs(played[static_cast<std::size_t>(j / n)]))
      if (local >= r.local_start && local < r.local_start + r.length)
        positions.push_back(r.global_start + (local - r.local_start) * r.stride);
  }
  std::sort(positions.begin(), positions.end());
  return positions;
}

ErrorSums compare_sampled_rows(const BenchmarkCase& c, const SequenceLayout& layout, int rank,
                               const RowReader& read, std::span<const int> played) {
  std::vector<std::int64_t> q_pos, local;  // the sampled positions this rank holds
  for (const std::int64_t p : sampled_positions(layout, c.check_rows, played)) {
    const auto [owner, index] = layout.locate(p);
    if (owner == rank) q_pos.push_back(p), local.push_back(index);
  }
  ErrorSums sums;
  if (q_pos.empty()) return sums;
  const ProblemSpec& s = c.spec;
  const std::int64_t D = s.head_dim, rows = static_cast<std::int64_t>(q_pos.size());
  std::vector<float> q(static_cast<std::size_t>(s.batch * s.heads * rows * D));
  generate_tensor(TensorRole::q, c.seed, s, q_pos, q);
  const RowReference ref = reference_rows(s, c.seed, q, q_pos);
  const AttentionResult got = read(local);
  for (std::int64_t r = 0; r < s.batch * s.heads * rows; ++r) {
    const auto row = static_cast<std::size_t>(r);
    const double ref_lse = ref.lse[row], got_lse = got.lse[row];
    if (std::isfinite(ref_lse) != std::isfinite(got_lse)) {
      sums.lse_max_abs = std::numeric_limits<double>::infinity();
      continue;
    }
    if (!std::isfinite(ref_lse)) continue;  // empty in both: O holds nothing to compare
    sums.lse_max_abs = std::max(sums.lse_max_abs, std::abs(got_lse - ref_lse));
    for (std::int64_t d = 0; d < D; ++d) {
      const double want = ref.o[row * D + d], diff = double(got.o[row * D + d]) - want;
      sums.diff2 += diff * diff;
      sums.ref2 += want * want;
      sums.max_abs = std::max(sums.max_abs, std::abs(diff));
    }
  }
  if (!std::isfinite(sums.diff2)) sums.max_abs = std::numeric_limits<double>::infinity();
  return sums;
}

ErrorSums compare_sampled_rows(const BenchmarkCase& c, const SequenceLayout& layout, int rank,
                               const AttentionResult& got, std::span<const int> played) {
  const std::int64_t n = layout.local_len(), D = c.spec.head_dim;
  const RowReader read = [&](std::span<const std::int64_t> local) {
    return pick_rows(got, n, D, local);
  };
  return compare_sampled_rows(c, layout, rank, read, played);
}

}  // namespace ringbench
