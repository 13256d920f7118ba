// Which block a rank holds at each step of the ring, and the mask that pairing implies. At step t
// rank r computes with the block that started on rank r - t (it arrived over t hops). A block
// travels only as far as some rank still needs it: after the last step any rank of the ring
// computes something at, the forward ring stops passing blocks on (a causal sliding window over
// contiguous shards needs only its neighbours' blocks, not P - 1 hops), and of a block only the
// rows its later holders read travel on (ring/BlockTravel: a LongNet ring's far steps).
//
// A double ring (ring/DoubleRing: LoongTrain's) visits the blocks in the order of its inner and
// outer rings (ring/DoubleRingTopology); every step is run and every block travels whole.
//
// A member of an emulated ring (--ring-size) runs a chosen list of ring steps instead: the steps
// up to the last needed one, or an evenly spaced sample of them (--sample-steps); its blocks are
// generated, so any step can follow any other.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/BenchmarkCase.hpp"
#include "core/SequenceLayout.hpp"
#include "ring/BlockMask.hpp"
#include "ring/DoubleRingTopology.hpp"

namespace ringbench {

// The last ring step at which any rank computes something (0 when only the local blocks are
// needed), judged from positions alone: the same on every rank, no communication. Dense and causal
// rings need every step; only sparse patterns stop early.
int ring_last_needed_step(const SequenceLayout& layout, const AttentionPattern& pattern,
                          std::int64_t heads);

class RingSchedule {
 public:
  // `heads`: query heads (a head-dependent pattern may allow pairs in some heads only).
  RingSchedule(const SequenceLayout& layout, int rank,
               std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads);
  // The same with the ring's last needed step already known (ring_last_needed_step costs P^2
  // pair tests: `plan` builds thousands of schedules of one ring).
  RingSchedule(const SequenceLayout& layout, int rank,
               std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
               int last_needed_step);
  // Only `ring_steps` (ascending ring steps, none past `last_needed_step`) of member `rank`.
  RingSchedule(const SequenceLayout& layout, int rank,
               std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
               int last_needed_step, std::vector<int> ring_steps);

  // A double ring of inner rings of `inner_ranks` ranks (dividing the layout's ranks).
  struct DoubleRingOrder {
    int inner_ranks;
  };
  RingSchedule(const SequenceLayout& layout, int rank,
               std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
               DoubleRingOrder order);

  // The inner ring size of a double ring; 0 for the ring's own order.
  int inner_ranks() const { return inner_ranks_; }
  int steps() const { return ring_steps_.empty() ? layout_.ranks() : int(ring_steps_.size()); }
  int rank() const { return rank_; }
  // The ring step that step `step` of this schedule runs.
  int ring_step(int step) const { return ring_steps_.empty() ? step : ring_steps_[step]; }
  int source(int step) const { return source_of(rank_, ring_step(step)); }
  BlockMask mask(int step) const;
  int last_needed_step() const { return last_needed_step_; }
  // Whether the block in hand is passed on at `step` (the next step needs one).
  bool passes_on(int step) const {
    return ring_steps_.empty() ? step < last_needed_step_ : step + 1 < steps();
  }
  // The owner of the block rank `rank` holds at ring step `ring_step`.
  int source_of(int rank, int ring_step) const {
    const int P = layout_.ranks(), t = ring_step % P;
    if (inner_ranks_ == 0) return (rank - t + P) % P;
    return DoubleRingTopology{P, inner_ranks_}.source(rank, t);
  }
  // The rows of the block in hand that travel on at `step` (nullopt: all of them), the rows of
  // the block arriving for the next step (what the predecessor passes on at the same step), and
  // how many travel on (the block's tokens when all do).
  std::optional<std::vector<RowSelection>> rows_passed_on(int step) const;
  std::optional<std::vector<RowSelection>> rows_arriving(int step) const;
  std::int64_t rows_passed_on_count(int step) const;
  const AttentionPattern& pattern() const { return *pattern_; }
  const SequenceLayout& layout() const { return layout_; }

 private:
  void judge_steps();

  const SequenceLayout& layout_;
  int rank_;
  std::shared_ptr<const AttentionPattern> pattern_;
  std::vector<int> ring_steps_;  // empty: every step of the ring
  std::vector<bool> allowed_;    // per step of this schedule: some pair of the step is allowed
  int last_needed_step_ = 0;
  std::int64_t heads_ = 0;
  int inner_ranks_ = 0;  // a double ring's inner ring size; 0: the ring's own order
  std::vector<std::int64_t> travelling_;  // rows passed on per ring step (patterns of row subsets)
};

// The schedule of rank `rank` in case `c`: a double ring's order for doublering:I, else the
// ring's (with its last needed step known).
RingSchedule case_schedule(const BenchmarkCase& c, const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, int last_needed_step);

}  // namespace ringbench
