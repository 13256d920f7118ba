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

// Rows `local` of a whole result [batch * heads][n] (O with `head_dim` values per row), in the
// same order: [batch * heads][local.size()].
inline AttentionResult pick_rows(const AttentionResult& whole, std::int64_t n,
                                 std::int64_t head_dim, std::span<const std::int64_t> local) {
  AttentionResult picked;
  const auto heads = static_cast<std::int64_t>(whole.lse.size()) / n;
  for (std::int64_t bh = 0; bh < heads; ++bh)
    for (const std::int64_t i : local) {
      const auto row = static_cast<std::size_t>(bh * n + i);
      picked.lse.push_back(whole.lse[row]);
      picked.o.insert(picked.o.end(), whole.o.begin() + static_cast<std::ptrdiff_t>(row * head_dim),
                      whole.o.begin() + static_cast<std::ptrdiff_t>((row + 1) * head_dim));
    }
  return picked;
}

// q: [batch, heads, q_pos.size(), head_dim]; k, v: [batch, kv_heads, k_pos.size(), head_dim].
AttentionResult reference_attention(const ProblemSpec& spec, std::span<const float> q,
                                    std::span<const std::int64_t> q_pos, std::span<const float> k,
                                    std::span<const float> v, std::span<const std::int64_t> k_pos);

}  // namespace ringbench
