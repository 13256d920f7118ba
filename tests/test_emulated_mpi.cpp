// Emulated rings (--ring-size above the ranks) on CPU ranks: the members played compute exactly
// what the same members of a resident ring compute, sampled steps run only their steps, and the
// outputs pass the float64 checks; run under mpirun with 1..4 ranks.
#include <numeric>
#include <set>

#include "core/FlopCount.hpp"
#include "core/PatternSpec.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/EmulatedRing.hpp"
#include "ring/RingAttention.hpp"
#include "ring/RingBenchmark.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {

constexpr int kRing = 8;

BenchmarkCase emulated_case(const std::string& mask, LayoutKind layout) {
  BenchmarkCase c;
  c.spec.heads = 4;
  c.spec.kv_heads = 2;
  c.spec.head_dim = 32;
  c.spec.seq_len = 2 * kRing * 24;
  c.spec.mask = mask;
  c.layout = layout;
  c.warmup = 0;
  c.iters = 1;
  c.ring_size_option = kRing;
  return c;
}

const char* const kMasks[] = {"none",
                              "causal",
                              "window:30:0",
                              "window:20:40",
                              "dilated:48,96:1,2",
                              "dilated:96,384:2,8+causal",
                              "bigbird:16:3:1:2+causal"};

}  // namespace

TEST_CASE("played members equal the same members of a resident ring, bit for bit",
          "[mpi][emulated]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;  // the resident ring of 8 runs as virtual ranks of one process
  for (const std::string mask : kMasks)
    for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
      INFO(mask << " " << to_string(layout));
      BenchmarkCase resident = emulated_case(mask, layout);
      resident.ring_size_option = 0;
      resident.virtual_ranks = kRing;
      const SequenceLayout lay(layout, resident.spec.seq_len, kRing);
      const auto pattern = make_pattern(mask, resident.spec.seq_len);
      std::vector<LocalRank> ring = make_local_ranks(resident, lay, rt, pattern);
      for (auto& l : ring) l.backend->generate_inputs(resident.seed, lay.runs(l.rank));
      for (auto& l : ring) ring_attention_forward(l.schedule, *l.backend);

      BenchmarkCase emulated = emulated_case(mask, layout);
      emulated.members = "1,6,7";
      std::vector<LocalRank> members = make_local_ranks(emulated, lay, rt, pattern);
      REQUIRE(members.size() == 3);
      for (auto& m : members) {
        REQUIRE(m.emulated);
        m.emulated->play(m.schedule, m.rank);  // one rank: its link is a loop
        m.backend->generate_inputs(emulated.seed, lay.runs(m.rank));
        ring_attention_forward(m.schedule, *m.backend);
        const AttentionResult got = m.backend->read_result();
        const AttentionResult want = ring[static_cast<std::size_t>(m.rank)].backend->read_result();
        REQUIRE(got.o == want.o);
        REQUIRE(got.lse == want.lse);
      }
    }
}

TEST_CASE("an emulated ring's members pass the float64 check on any number of ranks",
          "[mpi][emulated]") {
  const MpiRuntime& rt = runtime();
  for (const std::string mask : kMasks) {
    BenchmarkCase c = emulated_case(mask, LayoutKind::zigzag);
    c.members = "all";
    c.check = true;
    INFO(mask << " ranks " << rt.size());
    const BenchmarkOutcome out = run_ring_benchmark(c, rt);
    REQUIRE_FALSE(out.check_failed);
    if (!rt.is_root()) continue;
    REQUIRE(out.record.check->rel_err < 1e-5);
    REQUIRE(out.record.summary.at("emulated") == 1);
    REQUIRE(out.record.summary.at("ring_size") == kRing);
    // every member played once or more, each column names the member it played
    std::set<int> played;
    for (const RankInfo& r : out.record.ranks) played.insert(r.rank);
    REQUIRE(played.size() == kRing);
    REQUIRE(out.record.summary.at("one_gpu_flops") == Approx(attention_flops(c.spec)));
  }
}

TEST_CASE("sampled steps run only their steps, and the time is projected from them",
          "[mpi][emulated]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c = emulated_case("causal", LayoutKind::zigzag);
  c.sample_steps = 3;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  if (!rt.is_root()) return;
  const RunRecord& run = out.record;
  REQUIRE(run.steps == 3);
  REQUIRE(run.summary.at("sampled_steps") == 3);
  REQUIRE(run.summary.at("ring_steps") == kRing);
  REQUIRE(run.summary.at("sample_factor") == Approx(kRing / 3.0));
  // the work of the sampled ring steps 0, 2 and 5 of the member played (zigzag: the same for all)
  const SequenceLayout layout(c.layout, c.spec.seq_len, kRing);
  const auto pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const int member = run.ranks.front().rank;
  double want = 0;
  for (int s : {0, 2, 5})
    want += block_flops(c.spec, *pattern, layout.runs(member),
                        layout.runs((member - s + kRing) % kRing));
  REQUIRE(std::accumulate(run.step_flops.begin(), run.step_flops.begin() + 3, 0.0) == Approx(want));
  // two exchanges of a K/V block between the three steps, over the real link
  const std::int64_t block = 2 * 2 * layout.local_len() * 32 * 4;
  REQUIRE(run.bytes_sent[0] == block);
  REQUIRE(run.bytes_sent[1] == block);
  REQUIRE(run.bytes_sent[2] == 0);
  // the projected iteration is longer than the measured steps' sum
  double measured = 0;
  for (int s = 0; s < 3; ++s) measured += run.compute_ms[static_cast<std::size_t>(s)];
  REQUIRE(run.total_ms.front() >= measured);
}

TEST_CASE("sampled rows of the members played pass, far past where a whole check reaches",
          "[mpi][emulated]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c = emulated_case("window:4095:0", LayoutKind::contiguous);
  c.spec.seq_len = 64 * 4096;  // 256K tokens in 64 members of 4K
  c.spec.heads = 2;
  c.spec.kv_heads = 1;
  c.ring_size_option = 64;
  c.members = "auto";  // the first member (one block) and one of those with two
  c.check = true;
  c.check_rows = 8;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  REQUIRE_FALSE(out.check_failed);
  if (!rt.is_root()) return;
  REQUIRE(out.record.check->rows == 8);
  REQUIRE(out.record.check->rel_err < 1e-5);
  REQUIRE(out.record.check->rel_err > 0);  // rows were compared
  std::set<int> played;
  for (const RankInfo& r : out.record.ranks) played.insert(r.rank);
  REQUIRE(played.size() == 2);
  REQUIRE(*played.begin() == 0);
}
