// Exact FLOP counts. One allowed (query, key, head) pair costs 2·D for the score (Q·K) and 2·D for
// the output (P·V), per batch entry; causal counts the allowed pairs exactly, S·(S+1)/2, not S²/2,
// sparse patterns their exact counts, dilated with multiplicity (a pair two of its branches allow
// is computed twice). Softmax exponentials are not counted, as attention benchmarks do.
#pragma once

#include <cstdint>
#include <span>

#include "core/AttentionPattern.hpp"
#include "core/ProblemSpec.hpp"

namespace ringbench {

// `pairs`: allowed (query, key, head) triples summed over the query heads.
inline double flops_for_pairs(const ProblemSpec& spec, std::int64_t pairs) {
  return 4.0 * static_cast<double>(spec.head_dim) * static_cast<double>(spec.batch) *
         static_cast<double>(pairs);
}

// The backward pass is counted as 2.5 x the forward's FLOPs, the convention attention benchmarks
// use (FlashAttention-2): it recomputes the scores (Q·K) and does four more matrix products
// (dP = dO·V, dV += P·dO, dQ += dS·K, dK += dS·Q), 5 against the forward's 2, softmax not counted.
inline constexpr double kBackwardFlopsPerForward = 2.5;

// Forward FLOPs of the whole (unsharded) problem.
double attention_flops(const ProblemSpec& spec);

// Allowed pairs of the whole problem over the whole S x S square and one head, averaged over the
// heads: the pattern's density (1 for none, about 1/2 for causal).
double pattern_density(const ProblemSpec& spec);

// Forward FLOPs of one block: one rank's queries against another rank's keys.
double block_flops(const ProblemSpec& spec, const AttentionPattern& pattern,
                   std::span<const PositionRun> q_runs, std::span<const PositionRun> k_runs);

}  // namespace ringbench
