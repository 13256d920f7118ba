// Box coverage for block patterns (bigbird, blocksparse): the sequence is cut into blocks of B
// tokens and a (query block, key block) pair is kept or not, optionally intersected with causal.
// The patterns answer per query-block row whether any / all key blocks of a range are kept; this
// turns those answers into the box's coverage, exactly. Diagonal blocks must be kept (both
// patterns keep them), which is what makes a causal diagonal block hold pairs.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/AttentionPattern.hpp"
#include "core/patterns/PositionMath.hpp"

namespace ringbench {

struct BlockGrid {
  std::int64_t block = 1;   // tokens per block
  std::int64_t blocks = 0;  // blocks per side (sequence length / block)
};

// any_kept(i, j0, j1) / all_kept(i, j0, j1): whether some / every key block j in [j0, j1] is kept
// for query block i (j0 <= j1). Cost: the rows the box spans times one answer each, stopping as
// soon as the box is known to be partial.
template <class AnyKept, class AllKept>
Coverage block_coverage(const BlockGrid& grid, bool causal, std::int64_t q_first,
                        std::int64_t q_last, std::int64_t k_first, std::int64_t k_last,
                        AnyKept any_kept, AllKept all_kept) {
  // positions outside the sequence hold no tokens
  const std::int64_t end = grid.block * grid.blocks - 1;
  q_first = std::max<std::int64_t>(q_first, 0), k_first = std::max<std::int64_t>(k_first, 0);
  q_last = std::min(q_last, end), k_last = std::min(k_last, end);
  if (q_first > q_last || k_first > k_last || (causal && k_first > q_last)) return Coverage::none;
  const std::int64_t b = grid.block, kb0 = k_first / b, kb1 = k_last / b;
  // under causal, only a box wholly at or below the diagonal can be full
  bool has_pair = false, has_gap = causal && k_last > q_first;
  for (std::int64_t i = q_first / b; i <= q_last / b && !(has_pair && has_gap); ++i) {
    if (!has_pair && !causal) has_pair = any_kept(i, kb0, kb1);
    if (!has_pair && causal) {
      // key blocks left of the diagonal hold only keys before the row's queries; the diagonal
      // block (kept) holds a pair whenever the box reaches it, as k_first <= q_last
      const bool diagonal = kb0 <= i && i <= kb1;
      has_pair = diagonal || (kb0 <= i - 1 && any_kept(i, kb0, std::min(kb1, i - 1)));
    }
    if (!has_gap) has_gap = !all_kept(i, kb0, kb1);
  }
  if (!has_pair) return Coverage::none;
  return has_gap ? Coverage::partial : Coverage::full;
}

// Exact allowed pairs between runs q and k of a block pattern, block row by block row:
// row_keys(i, last_block) counts the keys of k in the kept key blocks 0..last_block of query
// block i (whole blocks). Under causal, the blocks left of the diagonal count whole and the
// (kept) diagonal block only its keys at or before each query.
template <class RowKeys>
std::int64_t block_pattern_pairs(const BlockGrid& grid, bool causal, const PositionRun& q,
                                 const PositionRun& k, RowKeys row_keys) {
  if (q.length <= 0 || k.length <= 0) return 0;
  const std::int64_t b = grid.block;
  std::int64_t total = 0;
  for (std::int64_t i = q.first() / b; i <= q.last() / b; ++i) {
    const PositionRun row_queries = restrict_to(q, i * b, i * b + b - 1);
    if (row_queries.length == 0) continue;
    if (!causal) {
      total += row_queries.length * row_keys(i, grid.blocks - 1);
      continue;
    }
    total += row_queries.length * row_keys(i, i - 1) +
             sum_keys_at_or_below(row_queries, restrict_to(k, i * b, i * b + b - 1), 0);
  }
  return total;
}

}  // namespace ringbench
