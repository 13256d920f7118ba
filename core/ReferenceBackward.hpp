// The ground truth for the backward pass: gradients of attention with respect to Q, K and V,
// accumulated in float64, with the mask judged from global positions. Slow on purpose.
//
// The gradients are sums over (query, key) pairs once every query row's softmax statistics are
// known (its log-sum-exp over all keys and D = rowsum(dO ∘ O)). So the work splits the way a
// distributed check needs it: statistics of some queries against all keys, then dQ of some
// queries and dK, dV of some keys, each computed alone by the rank that holds those rows.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/ProblemSpec.hpp"

namespace ringbench {

// Per query row, [batch, heads, rows]: lse = log sum exp(scale·q·k) over the allowed keys (-inf
// when none), delta = D = sum over d of dO·O.
struct RowStats {
  std::vector<double> lse, delta;
};

// Queries with their output gradient dO ([batch, heads, rows, head_dim] each) and positions;
// `stats` must be over the whole key sequence (for dK, dV: of every query given).
struct QueryRows {
  std::span<const float> q, d_o;
  std::span<const std::int64_t> pos;
  const RowStats* stats = nullptr;
};

// Keys and values ([batch, kv_heads, rows, head_dim] each) and their positions.
struct KeyRows {
  std::span<const float> k, v;
  std::span<const std::int64_t> pos;
};

struct KeyGradients {
  std::vector<double> dk, dv;  // [batch, kv_heads, rows, head_dim]
};

// Statistics of the queries (`stats` ignored) against the keys.
RowStats reference_row_stats(const ProblemSpec& spec, const QueryRows& queries,
                             const KeyRows& keys);

// dQ of the queries from the keys given: exact when `keys` are all keys.
std::vector<double> reference_dq(const ProblemSpec& spec, const QueryRows& queries,
                                 const KeyRows& keys);

// dK, dV of the keys from the queries given: exact when `queries` are all queries. With GQA each
// kv head sums over the query heads that share it.
KeyGradients reference_dkv(const ProblemSpec& spec, const QueryRows& queries, const KeyRows& keys);

// Relative Frobenius error ||got - ref|| / ||ref||, summed over parts (ranks) before dividing.
struct FrobeniusSums {
  double diff2 = 0, ref2 = 0;

  template <typename Got, typename Ref>
  void add(std::span<const Got> got, std::span<const Ref> ref) {
    for (std::size_t i = 0; i < ref.size(); ++i) {
      const double d = double(got[i]) - double(ref[i]);
      diff2 += d * d;
      ref2 += double(ref[i]) * double(ref[i]);
    }
  }
  double relative() const;  // NaN-safe: any NaN makes it NaN, an empty reference gives ||got||
};

}  // namespace ringbench
