// The arithmetic every pattern's exact pair count is built from. A rank's tokens are runs of
// evenly spaced positions (PositionRun), and every pattern allows each query a few intervals of
// keys, possibly only one residue class of them. So counts reduce to: how many tokens of a run lie
// in an interval or a residue class (O(1)), and the sum of such counts over the queries of a run
// when the interval moves with the query (O(log), the classic floor-sum recursion).
#pragma once

#include <cstdint>

#include "core/SequenceLayout.hpp"

namespace ringbench {

// floor(a / b) and ceil(a / b) for b > 0 and any sign of a (C++ division truncates).
std::int64_t floor_div(std::int64_t a, std::int64_t b);
std::int64_t ceil_div(std::int64_t a, std::int64_t b);

// Tokens of `run` at positions <= x.
std::int64_t count_at_or_below(const PositionRun& run, std::int64_t x);
// Tokens of `run` at positions in [lo, hi]; 0 when hi < lo.
std::int64_t count_in(const PositionRun& run, std::int64_t lo, std::int64_t hi);
// The tokens of `run` at positions in [lo, hi], as a run (length 0 when there are none).
PositionRun restrict_to(const PositionRun& run, std::int64_t lo, std::int64_t hi);
// The tokens of `run` at positions p with p mod modulus = residue (0 <= residue < modulus).
PositionRun restrict_to_residue(const PositionRun& run, std::int64_t residue, std::int64_t modulus);

// Sum over the queries q of run q of the keys of run k at positions <= q + offset. Exact, O(log).
std::int64_t sum_keys_at_or_below(const PositionRun& q, const PositionRun& k, std::int64_t offset);
// Sum over the queries q of the keys at positions in [q + lo, q + hi] (lo <= hi + 1): a band
// around the diagonal, the shape of window and causal masks.
std::int64_t count_in_band(const PositionRun& q, const PositionRun& k, std::int64_t lo,
                           std::int64_t hi);

// Sum of floor((a·i + b) / m) for i in [0, n), for n, a, b >= 0 and m >= 1; exact whenever the
// result fits in 63 bits and n, m < 2^32 (positions are 31-bit).
std::int64_t floor_sum(std::int64_t n, std::int64_t m, std::int64_t a, std::int64_t b);

}  // namespace ringbench
