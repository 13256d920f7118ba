// The ground truth: attention of a set of queries against a set of keys, accumulated in float64,
// with the mask judged from global positions. Slow on purpose; used to check every backend.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/ProblemSpec.hpp"

namespace ringbench {

struct AttentionResult {
  std::vector<float> o;  // [batch, heads, rows, head_dim], normalized
  std::vector<float>
      lse;  // [batch, heads, rows], natural log of sum(exp(scale·q·k)); -inf if empty
};

// q: [batch, heads, q_pos.size(), head_dim]; k, v: [batch, kv_heads, k_pos.size(), head_dim].
AttentionResult reference_attention(const ProblemSpec& spec, std::span<const float> q,
                                    std::span<const std::int64_t> q_pos, std::span<const float> k,
                                    std::span<const float> v, std::span<const std::int64_t> k_pos);

}  // namespace ringbench
