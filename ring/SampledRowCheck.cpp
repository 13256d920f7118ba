#include "ring/SampledRowCheck.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/InputGenerator.hpp"
#include "core/PatternSpec.hpp"
#include "core/SoftmaxMerge.hpp"

namespace ringbench {

namespace {

// Keys per chunk: K and V of a chunk stay near 64 MiB of floats.
std::int64_t key_chunk(const ProblemSpec& s) {
  const std::int64_t per_key = 2 * s.batch * s.effective_kv_heads() * s.head_dim;
  return std::clamp<std::int64_t>((std::int64_t{16} << 20) / per_key, 1, s.seq_len);
}

// The float64 reference of queries at `q_pos` (values `q`) against every key: [batch, heads,
// rows] rows of O and LSE.
struct RowReference {
  std::vector<double> o, lse;
};

RowReference reference_rows(const BenchmarkCase& c, const std::vector<float>& q,
                            const std::vector<std::int64_t>& q_pos) {
  const ProblemSpec& s = c.spec;
  const auto rows = static_cast<std::int64_t>(q_pos.size());
  const std::int64_t D = s.head_dim, BH = s.batch * s.heads, chunk = key_chunk(s);
  RowReference ref{std::vector<double>(static_cast<std::size_t>(BH * rows * D), 0.0),
                   std::vector<double>(static_cast<std::size_t>(BH * rows),
                                       -std::numeric_limits<double>::infinity())};
  std::vector<double> o_blk(static_cast<std::size_t>(D));
  // chunks no sampled row attends are never generated: a window check at 1B keys reads a few
  const auto pattern = make_pattern(s.mask, s.seq_len);
  std::vector<PositionRun> q_runs;
  for (const std::int64_t p : q_pos) q_runs.push_back({0, p, 1, 1});
  for (std::int64_t k0 = 0; k0 < s.seq_len; k0 += chunk) {
    const PositionRun keys{0, k0, std::min(chunk, s.seq_len - k0), 1};
    if (!any_allowed(*pattern, q_runs, {&keys, 1}, s.heads)) continue;
    std::vector<std::int64_t> k_pos(static_cast<std::size_t>(std::min(chunk, s.seq_len - k0)));
    std::iota(k_pos.begin(), k_pos.end(), k0);
    const std::size_t kv_values =
        static_cast<std::size_t>(s.batch * s.effective_kv_heads() * D) * k_pos.size();
    std::vector<float> k(kv_values), v(kv_values);
    generate_tensor(TensorRole::k, c.seed, s, k_pos, k);
    generate_tensor(TensorRole::v, c.seed, s, k_pos, v);
    const AttentionResult part = reference_attention(s, q, q_pos, k, v, k_pos);
    for (std::int64_t r = 0; r < BH * rows; ++r) {
      const auto row = static_cast<std::size_t>(r);
      std::copy_n(part.o.begin() + static_cast<std::ptrdiff_t>(row * D), D, o_blk.begin());
      merge_row(ref.o.data() + row * D, ref.lse[row], o_blk.data(), double(part.lse[row]), D);
    }
  }
  return ref;
}

}  // namespace

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
  const RowReference ref = reference_rows(c, q, q_pos);
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
