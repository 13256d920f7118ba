// Every attention pattern through the ring on CPU ranks, forward and backward, against the
// float64 reference with the same pattern; run under mpirun with 1..4 ranks.
#include <unistd.h>

#include <filesystem>
#include <numeric>

#include "core/FlopCount.hpp"
#include "core/PatternSpec.hpp"
#include "core/ResultsFile.hpp"
#include "ring/RingBenchmark.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {

// 96 tokens: a multiple of 2P for P = 1..4, of the blocks (8) and of the dilated segments.
constexpr std::int64_t kSeqLen = 96;

const char* const kPatterns[] = {
    "window:5:3",
    "window:11:0",
    "longformer:4:4:6",
    "bigbird:8:3:1:2",
    "bigbird:8:3:1:2+causal",
    "dilated:16,32:1,2",
    "dilated:24,48:2,4+causal",
    "dilated:24,96:8,16",  // rates past the heads: blocks travel as a few rows
    "dilated:48,96:4,16+causal",
    "blocksparse:8:0.3",
    "blocksparse:8:0.3+causal",
    "longformer:3:0:5+causal",
};

BenchmarkCase pattern_case(const std::string& mask, LayoutKind layout, PassKind pass) {
  BenchmarkCase c;
  c.spec.heads = 4;
  c.spec.kv_heads = 2;
  c.spec.head_dim = 32;
  c.spec.seq_len = kSeqLen;
  c.spec.mask = mask;
  c.layout = layout;
  c.pass = pass;
  c.warmup = 0;
  c.iters = 1;
  c.check = true;
  return c;
}

double sum(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

}  // namespace

TEST_CASE("every pattern, layout and ring size equals the float64 reference, both passes",
          "[mpi][pattern]") {
  const MpiRuntime& rt = runtime();
  for (const std::string mask : kPatterns)
    for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
      const BenchmarkCase c = pattern_case(mask, layout, PassKind::fwdbwd);
      INFO("mask " << mask << " layout " << to_string(layout) << " ranks " << rt.size());
      const BenchmarkOutcome out = run_ring_benchmark(c, rt);
      REQUIRE_FALSE(out.check_failed);
      REQUIRE(out.record.check->rel_err < 1e-6);
      const GradientErrors& g = *out.record.check->gradients;
      REQUIRE(std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err}) < 2e-6);
      if (!rt.is_root()) continue;
      // the steps' work adds up to the pattern's exact count, forward and backward
      REQUIRE(sum(out.record.step_flops) ==
              Approx((1 + kBackwardFlopsPerForward) * attention_flops(c.spec)));
      const double density = out.record.summary.at("density");
      REQUIRE(density > 0);
      REQUIRE(density < 1);
    }
}

TEST_CASE("a causal sliding window ring passes blocks to its neighbours only", "[mpi][pattern]") {
  const MpiRuntime& rt = runtime();
  const int P = rt.size();
  // window of S/P - 1 keys back: every rank needs its own block and its predecessor's only
  const std::string window = "window:" + std::to_string(kSeqLen / P - 1) + ":0";
  for (const std::string mask : {std::string("none"), window}) {
    const BenchmarkOutcome out =
        run_ring_benchmark(pattern_case(mask, LayoutKind::contiguous, PassKind::fwd), rt);
    REQUIRE_FALSE(out.check_failed);
    if (!rt.is_root() || mask == "none") continue;
    // bytes sent per rank and step: only step 0 passes a block on
    for (int r = 0; r < P; ++r)
      for (int s = 0; s < P; ++s)
        REQUIRE((out.record.bytes_sent[r * P + s] > 0) == (s == 0 && P > 1));
  }
}

TEST_CASE("a dilated ring passes on only the rows later ranks read", "[mpi][pattern]") {
  const MpiRuntime& rt = runtime();
  const int P = rt.size();
  const BenchmarkOutcome dense =
      run_ring_benchmark(pattern_case("none", LayoutKind::contiguous, PassKind::fwd), rt);
  const BenchmarkOutcome dilated = run_ring_benchmark(
      pattern_case("dilated:24,96:8,16", LayoutKind::contiguous, PassKind::fwd), rt);
  REQUIRE_FALSE(dilated.check_failed);
  if (!rt.is_root() || P == 1) return;
  for (int r = 0; r < P; ++r)
    for (int s = 0; s + 1 < P; ++s) {
      INFO("rank " << r << " step " << s);
      const double sent = dilated.record.bytes_sent[r * P + s];
      REQUIRE(sent > 0);
      REQUIRE(sent < dense.record.bytes_sent[r * P + s]);
    }
  // two ranks: the whole-sequence pair alone reaches the other half; its 4 heads read rows
  // 0..3 of every 16: 12 of 48 rows, of 4 planes (K, V x 2 kv heads) of 32 floats
  if (P == 2) REQUIRE(dilated.record.bytes_sent[0] == 4 * 12 * 32 * sizeof(float));
}

TEST_CASE("a random pattern's dumped block map rebuilds its mask from the file", "[mpi][pattern]") {
  const MpiRuntime& rt = runtime();
  for (const std::string mask : {"blocksparse:8:0.3:7", "bigbird:8:3:1:2:5"}) {
    BenchmarkCase c = pattern_case(mask, LayoutKind::zigzag, PassKind::fwd);
    c.dump_tensors = true;
    const BenchmarkOutcome out = run_ring_benchmark(c, rt);
    if (!rt.is_root()) continue;
    const std::string file = "/tmp/ringbench-block-map-" + std::to_string(::getpid()) + ".h5";
    const std::string id = append_run(file, out.record);
    const RunRecord back = read_run(file, id);
    std::filesystem::remove(file);
    const BlockMap& m = back.block_map;
    REQUIRE(m.block == 8);
    REQUIRE(m.blocks == kSeqLen / 8);
    const auto pattern = make_pattern(mask, kSeqLen);
    REQUIRE(m.kept == pattern->block_map().kept);
    // the map is the mask: a pair is allowed exactly when its block is kept
    for (std::int64_t q = 0; q < kSeqLen; ++q)
      for (std::int64_t k = 0; k < kSeqLen; ++k)
        REQUIRE(pattern->allows(q, k, 0, 0) ==
                (m.kept[static_cast<std::size_t>((q / 8) * m.blocks + k / 8)] != 0));
  }
}
