// Which members an emulated ring plays, the steps they run, and which rows its check samples.
#include <set>

#include "core/PatternSpec.hpp"
#include "ring/EmulatedRing.hpp"
#include "ring/SampledRowCheck.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {
EmulationPlan plan_for(const std::string& mask, LayoutKind layout, const std::string& members,
                       int sample_steps = 0, int world = 1, int rank = 0) {
  BenchmarkCase c;
  c.spec.seq_len = 64 * 1024;
  c.spec.mask = mask;
  c.layout = layout;
  c.ring_size_option = 64;
  c.members = members;
  c.sample_steps = sample_steps;
  const SequenceLayout lay(layout, c.spec.seq_len, 64);
  return plan_emulation(c, lay, *make_pattern(mask, c.spec.seq_len), world, rank);
}
}  // namespace

TEST_CASE("auto plays one member where all do the same work, else the least and most loaded",
          "[emulated]") {
  REQUIRE(plan_for("none", LayoutKind::contiguous, "auto").members == std::vector<int>{0});
  REQUIRE(plan_for("causal", LayoutKind::zigzag, "auto").members == std::vector<int>{0});
  // contiguous causal: member 0 sees only its own block, member 63 every block
  REQUIRE(plan_for("causal", LayoutKind::contiguous, "auto").members == std::vector<int>{0, 63});
  // a causal window over 1K shards: member 0 computes one block, the others two
  const EmulationPlan window = plan_for("window:1023:0", LayoutKind::contiguous, "auto");
  REQUIRE(window.members.size() == 2);
  REQUIRE(window.members.front() == 0);
  REQUIRE(window.last_needed_step == 1);
  REQUIRE(window.ring_steps == std::vector<int>{0, 1});  // the ring stops after one hop
}

TEST_CASE("members are dealt out in rounds; sampled steps spread over the needed ones",
          "[emulated]") {
  const EmulationPlan all = plan_for("none", LayoutKind::contiguous, "all", 0, 3, 1);
  REQUIRE(all.members.size() == 64);
  REQUIRE(all.mine.size() == 22);  // ceil(64 / 3) rounds
  REQUIRE(all.mine.front() == 1);
  REQUIRE(all.mine[1] == 4);
  REQUIRE(all.mine.back() == 0);  // the last round wraps around: some members play twice
  const EmulationPlan sampled = plan_for("causal", LayoutKind::zigzag, "auto", 8);
  REQUIRE(sampled.sampled());
  REQUIRE(sampled.ring_steps == std::vector<int>{0, 8, 16, 24, 32, 40, 48, 56});
  REQUIRE(plan_for("causal", LayoutKind::zigzag, "auto", 64).sampled() == false);
}

TEST_CASE("sampled rows lie in the members played, spread over their tokens", "[emulated]") {
  const SequenceLayout layout(LayoutKind::zigzag, 64 * 1024, 64);
  const std::vector<int> played{5, 40};
  const auto rows = sampled_positions(layout, 16, played);
  REQUIRE(rows.size() == 16);
  std::set<int> owners;
  for (std::int64_t p : rows) owners.insert(layout.locate(p).first);
  REQUIRE(owners == std::set<int>{5, 40});
  // every member played: the centres of slices of the whole sequence, as a resident ring checks
  REQUIRE(sampled_positions(layout, 16, {}) == sampled_positions(layout.seq_len(), 16));
}
