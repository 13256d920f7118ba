#include "ring/RingSchedule.hpp"

namespace ringbench {

RingSchedule::RingSchedule(const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads)
    : layout_(layout), rank_(rank), pattern_(std::move(pattern)) {
  for (int s = 0; s < steps(); ++s) allowed_.push_back(step_allowed(rank_, s, heads));
  // Every rank must make the same exchanges, so the ring's last needed step is judged over all
  // ranks (from positions alone: the same on every rank, no communication). Dense and causal
  // rings need every step; only sparse patterns stop early.
  if (pattern_->dense_kind()) {
    last_needed_step_ = steps() - 1;
    return;
  }
  for (int r = 0; r < steps(); ++r)
    for (int s = steps() - 1; s > last_needed_step_; --s)
      if (r == rank_ ? allowed_[s] : step_allowed(r, s, heads)) {
        last_needed_step_ = s;
        break;
      }
}

BlockMask RingSchedule::mask(int step) const {
  const int s = step % steps();
  return {pattern_.get(), layout_.runs(rank_), layout_.runs(source(s)), source(s), !allowed_[s]};
}

bool RingSchedule::step_allowed(int rank, int step, std::int64_t heads) const {
  return any_allowed(*pattern_, layout_.runs(rank), layout_.runs(source_of(rank, step)), heads);
}

}  // namespace ringbench
