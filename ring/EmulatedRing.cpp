#include "ring/EmulatedRing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "core/FlopCount.hpp"
#include "ring/BlockTravel.hpp"

namespace ringbench {

double member_work(const ProblemSpec& spec, const SequenceLayout& layout,
                   const AttentionPattern& pattern, int member, int last_needed_step) {
  const int P = layout.ranks();
  double flops = 0;
  for (int s = 0; s <= last_needed_step; ++s)
    flops += block_flops(spec, pattern, layout.runs(member), layout.runs((member - s % P + P) % P));
  return flops;
}

namespace {

// auto: one member where every member does the same work, else the least and the most loaded.
std::vector<int> automatic_members(const BenchmarkCase& c, const SequenceLayout& layout,
                                   const AttentionPattern& pattern, int last_needed_step) {
  // the same work by symmetry: no need to count (a billion-token dense ring has 10^6 blocks)
  if (pattern.dense_kind() == MaskKind::none ||
      (pattern.dense_kind() == MaskKind::causal && c.layout == LayoutKind::zigzag))
    return {0};
  std::vector<double> flops;
  for (int m = 0; m < layout.ranks(); ++m)
    flops.push_back(member_work(c.spec, layout, pattern, m, last_needed_step));
  const auto [lo, hi] = std::minmax_element(flops.begin(), flops.end());
  if (*hi - *lo <= 1e-12 * *hi) return {0};
  const int least = static_cast<int>(lo - flops.begin()),
            most = static_cast<int>(hi - flops.begin());
  return {std::min(least, most), std::max(least, most)};
}

// K steps spread evenly over the needed ones, the first always among them.
std::vector<int> sampled_steps(int needed, int k) {
  std::vector<int> steps;
  for (int i = 0; i < k; ++i) steps.push_back(static_cast<int>((std::int64_t{i} * needed) / k));
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

}  // namespace

EmulationPlan plan_emulation(const BenchmarkCase& c, const SequenceLayout& layout,
                             const AttentionPattern& pattern, int world_size, int rank) {
  EmulationPlan plan;
  plan.ring_size = layout.ranks();
  plan.last_needed_step = ring_last_needed_step(layout, pattern, c.spec.heads);
  const MemberChoice choice = parse_members(c.members, plan.ring_size);
  if (choice.kind == MemberChoice::Kind::all) {
    plan.members.resize(static_cast<std::size_t>(plan.ring_size));
    std::iota(plan.members.begin(), plan.members.end(), 0);
  } else if (choice.kind == MemberChoice::Kind::listed) {
    plan.members = choice.listed;
  } else {
    plan.members = automatic_members(c, layout, pattern, plan.last_needed_step);
  }
  const int M = static_cast<int>(plan.members.size());
  const int rounds = (M + world_size - 1) / world_size;
  for (int k = 0; k < rounds; ++k) plan.mine.push_back(member_of(plan, world_size, rank, k));
  const int needed = plan.needed_steps();
  if (c.sample_steps > 0 && c.sample_steps < needed) {
    plan.ring_steps = sampled_steps(needed, c.sample_steps);
  } else {
    plan.ring_steps.resize(static_cast<std::size_t>(needed));
    std::iota(plan.ring_steps.begin(), plan.ring_steps.end(), 0);
  }
  return plan;
}

int member_of(const EmulationPlan& plan, int world_size, int process, int round) {
  const int M = static_cast<int>(plan.members.size());
  return plan.members[static_cast<std::size_t>((round * world_size + process) % M)];
}

std::span<const PositionRun> EmulatedBlocks::runs_received(int index) const {
  if (!schedule_) throw std::logic_error("EmulatedBlocks: no member is being played");
  return layout_.runs(schedule_->source(index + 1));
}

std::optional<std::vector<RowSelection>> EmulatedBlocks::rows_received(int index) const {
  if (!schedule_) throw std::logic_error("EmulatedBlocks: no member is being played");
  const BlockMask m = schedule_->mask(index + 1);
  if (m.empty()) return std::vector<RowSelection>{};
  return m.pattern->key_rows_read(m.q_runs, m.kv_runs, heads_);
}

std::optional<std::vector<RowSelection>> EmulatedBlocks::rows_from_predecessor(int index) const {
  if (!schedule_) throw std::logic_error("EmulatedBlocks: no member is being played");
  return rows_travelling(layout_, schedule_->pattern(), heads_, predecessor_,
                         schedule_->ring_step(index), schedule_->last_needed_step());
}

RowExchange EmulatedBlocks::link_exchange(int index, std::int64_t planes, std::size_t block_bytes,
                                          std::optional<std::vector<RowSelection>> sent) const {
  const std::int64_t tokens = layout_.local_len();
  const std::vector<RowSelection> all{{0, 1, tokens}};
  auto received = rows_from_predecessor(index);
  return {planes, tokens, block_bytes / static_cast<std::size_t>(planes * tokens),
          sent ? std::move(*sent) : all, received ? std::move(*received) : all};
}

}  // namespace ringbench
