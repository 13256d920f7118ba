#include "core/FlopCount.hpp"

#include "core/PatternSpec.hpp"

namespace ringbench {

namespace {
std::int64_t all_pairs(const ProblemSpec& spec) {
  const PositionRun all{0, 0, spec.seq_len, 1};
  return count_allowed_all_heads(*make_pattern(spec.mask, spec.seq_len), std::span(&all, 1),
                                 std::span(&all, 1), spec.heads);
}
}  // namespace

double attention_flops(const ProblemSpec& spec) {
  return flops_for_pairs(spec, all_pairs(spec));
}

double pattern_density(const ProblemSpec& spec) {
  const double square = static_cast<double>(spec.seq_len) * static_cast<double>(spec.seq_len);
  return static_cast<double>(all_pairs(spec)) / (square * static_cast<double>(spec.heads));
}

double block_flops(const ProblemSpec& spec, const AttentionPattern& pattern,
                   std::span<const PositionRun> q_runs, std::span<const PositionRun> k_runs) {
  return flops_for_pairs(spec, count_allowed_all_heads(pattern, q_runs, k_runs, spec.heads));
}

}  // namespace ringbench
