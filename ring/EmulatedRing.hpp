// An emulated ring (--ring-size P above the ranks): each rank plays some members of a P-way ring
// in turn. A played member holds its own Q shard, as in the resident ring, and at every step the
// K/V block it would hold there, generated bit-identical to what the owner would send; the real
// link still moves as many bytes to and from the real neighbours (EmulatedBlocks is what the
// transports ask for the block; the ring code is the one ring_attention_forward).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/BenchmarkCase.hpp"
#include "core/SequenceLayout.hpp"
#include "distributed/RowExchange.hpp"
#include "ring/RingSchedule.hpp"

namespace ringbench {

struct EmulationPlan {
  int ring_size = 0;
  int last_needed_step = 0;     // of the whole ring: steps 0 .. last_needed_step carry work
  std::vector<int> members;     // every member played (by all ranks), ascending
  std::vector<int> mine;        // this rank's, in the order it plays them
  std::vector<int> ring_steps;  // the ring steps every member runs: all needed, or a sample
  int needed_steps() const { return last_needed_step + 1; }
  bool sampled() const { return static_cast<int>(ring_steps.size()) < needed_steps(); }
};

// Member `member`'s FLOPs over the ring's needed steps.
double member_work(const ProblemSpec& spec, const SequenceLayout& layout,
                   const AttentionPattern& pattern, int member, int last_needed_step);

// The members played and the steps they run. Members are dealt out in rounds: in round k, rank r
// plays members[(k * ranks + r) % members.size()], so every rank plays as many (some twice where
// the members do not divide evenly) and the real links stay paired.
EmulationPlan plan_emulation(const BenchmarkCase& c, const SequenceLayout& layout,
                             const AttentionPattern& pattern, int world_size, int rank);

// The member a column of the results plays: process `process`, its `round`-th member.
int member_of(const EmulationPlan& plan, int world_size, int process, int round);

// What an emulated member receives at each exchange: the block of the member whose K/V it would
// hold at its next step. The driver says which member's schedule is being played.
class EmulatedBlocks {
 public:
  EmulatedBlocks(const SequenceLayout& layout, std::uint64_t seed, std::int64_t heads)
      : layout_(layout), seed_(seed), heads_(heads) {}
  // `predecessor`: the member the real predecessor rank plays meanwhile (on one rank, the same):
  // what its link receives is what that member sends.
  void play(const RingSchedule& schedule, int predecessor) {
    schedule_ = &schedule;
    predecessor_ = predecessor;
  }
  std::uint64_t seed() const { return seed_; }
  // The positions of the block that exchange `index` of an iteration delivers.
  std::span<const PositionRun> runs_received(int index) const;
  // The rows of that block the step's kernels read (nullopt: all of them; none when the step
  // computes nothing), so that only they are generated: a LongNet ring's far steps read a few.
  std::optional<std::vector<RowSelection>> rows_received(int index) const;
  // The rows the real link brings at exchange `index`: those the predecessor's member passes on
  // there (nullopt: all), and the exchange of the played member with them, given the block's
  // shape and what it sends (`sent`: nullopt for all of it).
  std::optional<std::vector<RowSelection>> rows_from_predecessor(int index) const;
  RowExchange link_exchange(int index, std::int64_t planes, std::size_t block_bytes,
                            std::optional<std::vector<RowSelection>> sent) const;

 private:
  const SequenceLayout& layout_;
  std::uint64_t seed_;
  std::int64_t heads_;
  const RingSchedule* schedule_ = nullptr;
  int predecessor_ = 0;
};

}  // namespace ringbench
