#include "ring/RingSchedule.hpp"

#include <stdexcept>

#include "ring/BlockTravel.hpp"

namespace ringbench {

namespace {
bool pair_allowed(const SequenceLayout& layout, const AttentionPattern& pattern, int rank,
                  int source, std::int64_t heads) {
  return any_allowed(pattern, layout.runs(rank), layout.runs(source), heads);
}
bool step_allowed(const SequenceLayout& layout, const AttentionPattern& pattern, int rank, int step,
                  std::int64_t heads) {
  const int P = layout.ranks();
  return pair_allowed(layout, pattern, rank, (rank - step % P + P) % P, heads);
}
}  // namespace

int ring_last_needed_step(const SequenceLayout& layout, const AttentionPattern& pattern,
                          std::int64_t heads) {
  const int P = layout.ranks();
  if (pattern.dense_kind()) return P - 1;
  int last = 0;
  // rank by rank in parallel: P^2 pair tests at thousands of ranks (`plan`)
#pragma omp parallel for reduction(max : last) schedule(dynamic, 16)
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
      last_needed_step_(last_needed_step),
      heads_(heads) {
  judge_steps();
}

RingSchedule::RingSchedule(const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
                           DoubleRingOrder order)
    : layout_(layout),
      rank_(rank),
      pattern_(std::move(pattern)),
      last_needed_step_(layout.ranks() - 1),
      heads_(heads),
      inner_ranks_(order.inner_ranks) {
  if (inner_ranks_ <= 0 || layout.ranks() % inner_ranks_ != 0)
    throw std::logic_error("RingSchedule: a double ring's inner rings must divide the ring");
  judge_steps();
}

void RingSchedule::judge_steps() {
  for (int s = 0; s < steps(); ++s)
    allowed_.push_back(pair_allowed(layout_, *pattern_, rank_, source(s), heads_));
  // a double ring moves whole blocks (its outer ring brings a block before its later holders are
  // known to need it)
  if (pattern_->reads_row_subsets() && inner_ranks_ == 0)
    travelling_ = rows_travelling_counts(layout_, *pattern_, heads_, rank_, last_needed_step_);
}

RingSchedule::RingSchedule(const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, std::int64_t heads,
                           int last_needed_step, std::vector<int> ring_steps)
    : layout_(layout),
      rank_(rank),
      pattern_(std::move(pattern)),
      ring_steps_(std::move(ring_steps)),
      last_needed_step_(last_needed_step),
      heads_(heads) {
  if (ring_steps_.empty() || ring_steps_.back() > last_needed_step)
    throw std::logic_error("RingSchedule: ring steps must be given, none past the last needed");
  judge_steps();
}

BlockMask RingSchedule::mask(int step) const {
  const int s = step % steps();
  return {pattern_.get(), layout_.runs(rank_), layout_.runs(source(s)), source(s), !allowed_[s]};
}

std::optional<std::vector<RowSelection>> RingSchedule::rows_passed_on(int step) const {
  if (inner_ranks_ != 0) return std::nullopt;
  return rows_travelling(layout_, *pattern_, heads_, rank_, ring_step(step), last_needed_step_);
}

std::optional<std::vector<RowSelection>> RingSchedule::rows_arriving(int step) const {
  if (inner_ranks_ != 0) return std::nullopt;
  const int P = layout_.ranks();
  return rows_travelling(layout_, *pattern_, heads_, (rank_ + P - 1) % P, ring_step(step),
                         last_needed_step_);
}

std::int64_t RingSchedule::rows_passed_on_count(int step) const {
  if (travelling_.empty()) {
    std::int64_t tokens = 0;
    for (const PositionRun& r : layout_.runs(source(step))) tokens += r.length;
    return tokens;
  }
  return travelling_[static_cast<std::size_t>(ring_step(step))];
}

RingSchedule case_schedule(const BenchmarkCase& c, const SequenceLayout& layout, int rank,
                           std::shared_ptr<const AttentionPattern> pattern, int last_needed_step) {
  if (c.scheme == SchemeKind::doublering)
    return RingSchedule(layout, rank, std::move(pattern), c.spec.heads,
                        RingSchedule::DoubleRingOrder{c.scheme_group_ranks});
  return RingSchedule(layout, rank, std::move(pattern), c.spec.heads, last_needed_step);
}

}  // namespace ringbench
