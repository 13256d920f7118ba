// Which block a rank holds at each step of the ring, and the mask that pairing implies. At step t
// rank r computes with the block that started on rank r - t (it arrived over t hops). A block
// travels only as far as some rank still needs it: after the last step any rank of the ring
// computes something at, the forward ring stops passing blocks on (a causal sliding window over
// contiguous shards needs only its neighbours' blocks, not P - 1 hops).
#pragma once

#include <memory>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/SequenceLayout.hpp"
#include "ring/BlockMask.hpp"

namespace ringbench {

class RingSchedule {
 public:
  // `heads`: query heads (a head-dependent pattern may allow pairs in some heads only).
  RingSchedule(const SequenceLayout& layout, int rank,
               std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads);

  int steps() const { return layout_.ranks(); }
  int rank() const { return rank_; }
  int source(int step) const { return source_of(rank_, step); }
  BlockMask mask(int step) const;
  // The last step at which any rank of the ring computes something (0 when only the local
  // blocks are needed): the forward ring passes blocks on at steps 0 .. last_needed_step() - 1.
  int last_needed_step() const { return last_needed_step_; }
  // Whether the forward ring passes the block in hand on at `step`.
  bool passes_on(int step) const { return step < last_needed_step_; }
  const AttentionPattern& pattern() const { return *pattern_; }
  const SequenceLayout& layout() const { return layout_; }

 private:
  int source_of(int rank, int step) const { return (rank - step % steps() + steps()) % steps(); }
  bool step_allowed(int rank, int step, std::int64_t heads) const;

  const SequenceLayout& layout_;
  int rank_;
  std::shared_ptr<const AttentionPattern> pattern_;
  std::vector<bool> allowed_;  // per step of this rank: some pair of the step is allowed
  int last_needed_step_ = 0;
};

}  // namespace ringbench
