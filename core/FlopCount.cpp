#include "core/FlopCount.hpp"

namespace ringbench {

double attention_flops(const ProblemSpec& spec) {
  const PositionRun all{0, 0, spec.seq_len, 1};
  return flops_for_pairs(spec, make_pattern(spec.mask)->count_allowed(all, all));
}

double block_flops(const ProblemSpec& spec, const AttentionPattern& pattern,
                   std::span<const PositionRun> q_runs, std::span<const PositionRun> k_runs) {
  return flops_for_pairs(spec, count_allowed(pattern, q_runs, k_runs));
}

}  // namespace ringbench
