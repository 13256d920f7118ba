#include "ring/RingSchedule.hpp"

#include <stdexcept>

namespace ringbench {

namespace {
int source_of(int rank, int step, int ranks) {
  return (rank - step % ranks + ranks) % ranks;
}
bool step_allowed(const SequenceLayout& layout, const AttentionPattern& pattern, int rank, int step,
                  std::int64_t heads) {
  return any_allowed(pattern, layout.runs(rank), layout.runs(source_of(rank, step, layout.ranks())),
                     heads);
}
}  // namespace

int ring_last_needed_step(const SequenceLayout& layout, const AttentionPattern& pattern,
                          std::int64_t heads) {
  const int P = layout.ranks();
  if (pattern.dense_kind()) return P - 1;
  int last = 0;
  for (int r = 0; r < P; ++r)
    for (int s = P - 1; s > last; --s)
      if (step_allowed(layout, pattern, r, s, heads)) {
        last = s;
        break;
      }
  return last;
}

RingSchedule::RingSchedule(const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads)
    : RingSchedule(layout, rank, pattern, heads, ring_last_needed_step(layout, *pattern, heads)) {}

RingSchedule::RingSchedule(const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
                           int last_needed_step)
    : layout_(layout),
      rank_(rank),
      pattern_(std::move(pattern)),
      last_needed_step_(last_needed_step) {
  for (int s = 0; s < steps(); ++s)
    allowed_.push_back(step_allowed(layout_, *pattern_, rank_, s, heads));
}

RingSchedule::RingSchedule(const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
                           int last_needed_step, std::vector<int> ring_steps)
    : layout_(layout),
      rank_(rank),
      pattern_(std::move(pattern)),
      ring_steps_(std::move(ring_steps)),
      last_needed_step_(last_needed_step) {
  if (ring_steps_.empty() || ring_steps_.back() > last_needed_step)
    throw std::logic_error("RingSchedule: ring steps must be given, none past the last needed");
  for (int s = 0; s < steps(); ++s)
    allowed_.push_back(step_allowed(layout_, *pattern_, rank_, ring_step(s), heads));
}

BlockMask RingSchedule::mask(int step) const {
  const int s = step % steps();
  return {pattern_.get(), layout_.runs(rank_), layout_.runs(source(s)), source(s), !allowed_[s]};
}

}  // namespace ringbench
