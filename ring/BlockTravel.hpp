// What of a K/V block travels on: the rows its later holders read. A dilated ring's far steps read
// every rate-th row of a block (the pairs whose segments reach that far), so only those rows need
// to move there, which is what LongNet's distributed algorithm sends; every other pattern reads
// whole blocks, and they travel whole.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

// Positions of a set of ranks' tokens as a few merged intervals (stride-1 runs): the later holders
// of a block, whose union is all a pattern needs to know which rows of the block they read.
class HolderPositions {
 public:
  void add(std::span<const PositionRun> runs);
  std::span<const PositionRun> runs() const { return runs_; }
  bool empty() const { return runs_.empty(); }

 private:
  std::vector<PositionRun> runs_;  // sorted, disjoint, not adjacent
};

// The ranks holding, after ring step `ring_step`, the block rank `holder` holds at that step:
// holder + 1, ..., holder + (last_needed_step - ring_step) of a ring of layout.ranks().
HolderPositions later_holders(const SequenceLayout& layout, int holder, int ring_step,
                              int last_needed_step);

// The rows of the block `holder` holds at `ring_step` that travel on from there (nullopt: all of
// them; empty: it does not travel on).
std::optional<std::vector<RowSelection>> rows_travelling(const SequenceLayout& layout,
                                                         const AttentionPattern& pattern,
                                                         std::int64_t heads, int holder,
                                                         int ring_step, int last_needed_step);

// How many rows travel on at every ring step 0 .. last_needed_step from `holder` (one sweep: the
// later holders grow by one rank per step back), for the bytes of every step of a schedule.
std::vector<std::int64_t> rows_travelling_counts(const SequenceLayout& layout,
                                                 const AttentionPattern& pattern,
                                                 std::int64_t heads, int holder,
                                                 int last_needed_step);

}  // namespace ringbench
