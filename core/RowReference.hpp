// The float64 reference of a few query rows against every key of the sequence, at a cost
// proportional to the keys those rows attend, not to the sequence length: what the sampled-row
// check (ring/SampledRowCheck.hpp) compares with, at any length and for any pattern.
//
// Each row, head and branch asks the pattern for its allowed keys as runs
// (AttentionPattern::allowed_keys). Rows and heads with the same runs and the same kv head form
// one group (the rows of one large dilated segment, the heads of a head-uniform pattern). The key
// positions are then swept in windows holding a bounded number of the groups' keys; in a window,
// each key some group needs is generated once per kv head (K and V stay near 64 MiB), every group
// member's partial softmax over its keys there is computed, and the partials of windows and
// branches are merged by their log-sum-exp: exactly the softmax over the union of the branches'
// keys with multiplicity, as reference_attention computes it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/ProblemSpec.hpp"

namespace ringbench {

struct RowReference {
  std::vector<double> o;    // [batch, heads, rows, head_dim], normalized
  std::vector<double> lse;  // [batch, heads, rows]; -inf for a row no branch lets attend a key
};

// q: [batch, heads, q_pos.size(), head_dim], the queries at positions q_pos; K and V come from
// the seeded generator (core/InputGenerator.hpp) for `seed`. The conventions are
// reference_attention's: scores scaled by spec.scale(), natural log-sum-exp, query head h
// reading kv head h / (heads / kv_heads). Parallel (OpenMP) and deterministic: the partials are
// cut and merged the same way whatever the number of threads. window_keys bounds the keys
// generated at a time (0: K and V near 64 MiB); tests make it small to cross many windows.
RowReference reference_rows(const ProblemSpec& spec, std::uint64_t seed, std::span<const float> q,
                            std::span<const std::int64_t> q_pos, std::int64_t window_keys = 0);

}  // namespace ringbench
