// Which block a rank holds at each step of the ring, and the mask that pairing implies. At step t
// rank r computes with the block that started on rank r - t (it arrived over t hops).
#pragma once

#include <memory>

#include "core/AttentionPattern.hpp"
#include "core/SequenceLayout.hpp"
#include "ring/BlockMask.hpp"

namespace ringbench {

class RingSchedule {
 public:
  RingSchedule(const SequenceLayout& layout, int rank,
               std::shared_ptr<const AttentionPattern> pattern)
      : layout_(layout), rank_(rank), pattern_(std::move(pattern)) {}

  int steps() const { return layout_.ranks(); }
  int rank() const { return rank_; }
  int source(int step) const { return (rank_ - step % steps() + steps()) % steps(); }
  BlockMask mask(int step) const {
    return {pattern_.get(), layout_.runs(rank_), layout_.runs(source(step)), source(step)};
  }
  const AttentionPattern& pattern() const { return *pattern_; }
  const SequenceLayout& layout() const { return layout_; }

 private:
  const SequenceLayout& layout_;
  int rank_;
  std::shared_ptr<const AttentionPattern> pattern_;
};

}  // namespace ringbench
