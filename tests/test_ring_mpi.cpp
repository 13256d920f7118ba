// Multi-rank tests, run by ctest under mpirun with 1, 2, 3 and 4 ranks.
#include <cmath>
#include <numeric>

#include "core/ReferenceAttention.hpp"
#include "distributed/MpiTransport.hpp"
#include "ring/RingBenchmark.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

TEST_CASE("the transport passes each block one hop around the ring", "[mpi][transport]") {
  const MpiRuntime& rt = runtime();
  MpiTransport transport(rt.world(), 60.0);
  std::vector<int> mine(1000, rt.rank()), got(1000, -1);
  transport.start_exchange(mine.data(), got.data(), mine.size() * sizeof(int));
  transport.wait_exchange();
  const int prev = (rt.rank() + rt.size() - 1) % rt.size();
  REQUIRE(got == std::vector<int>(1000, prev));
  REQUIRE(transport.take_comm_ms().size() == 1);
}

TEST_CASE("collectives gather in rank order and agree", "[mpi][collectives]") {
  const MpiRuntime& rt = runtime();
  const std::vector<double> mine{double(rt.rank()), 10.0 * rt.rank()};
  const auto all = gather(rt.world(), std::span<const double>(mine));
  const auto names = gather(rt.world(), "r" + std::to_string(rt.rank()));
  if (rt.is_root()) {
    REQUIRE(all.size() == 2u * rt.size());
    for (int r = 0; r < rt.size(); ++r) {
      REQUIRE(all[2 * r + 1] == 10.0 * r);
      REQUIRE(names[r] == "r" + std::to_string(r));
    }
  }
  std::string text = rt.is_root() ? "canonical" : "";
  broadcast(rt.world(), text);
  REQUIRE(text == "canonical");
  REQUIRE(sum_all(rt.world(), 1.0) == rt.size());
  REQUIRE_FALSE(all_true(rt.world(), rt.rank() != rt.size() - 1));
  REQUIRE(rt.local_rank() < rt.local_size());
}

TEST_CASE("ring forward equals the float64 reference for every mask, layout and head shape",
          "[mpi][ring]") {
  const MpiRuntime& rt = runtime();
  struct Shape {
    std::int64_t heads, kv_heads, head_dim;
  };
  for (auto shape : {Shape{3, 3, 32}, Shape{4, 2, 64}, Shape{3, 1, 64}})
    for (const std::string mask : {"none", "causal"})
      for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag}) {
        BenchmarkCase c;
        c.spec.heads = shape.heads;
        c.spec.kv_heads = shape.kv_heads;
        c.spec.head_dim = shape.head_dim;
        c.spec.seq_len = 2 * rt.size() * 37;  // odd chunks: tiles with tails
        c.spec.mask = mask;
        c.layout = layout;
        c.warmup = 0;
        c.iters = 2;
        c.check = true;
        INFO("heads " << shape.heads << "/" << shape.kv_heads << " dim " << shape.head_dim
                      << " mask " << mask << " layout " << to_string(layout) << " ranks "
                      << rt.size());
        const BenchmarkOutcome out = run_ring_benchmark(c, rt);
        REQUIRE(out.record.check.has_value());
        REQUIRE(out.record.check->rel_err < 1e-6);
        REQUIRE(out.record.check->lse_max_abs_err < 1e-4);
        REQUIRE_FALSE(out.check_failed);
        if (rt.is_root()) {
          const std::size_t cube = std::size_t(c.iters) * rt.size() * rt.size();
          REQUIRE(out.record.compute_ms.size() == cube);
          REQUIRE(out.record.total_ms.size() == std::size_t(c.iters) * rt.size());
          const double flops =
              std::accumulate(out.record.step_flops.begin(), out.record.step_flops.end(), 0.0);
          REQUIRE(flops ==
                  Approx(out.record.summary.at("flops")));  // per-step work adds up exactly
          REQUIRE(out.record.summary.at("median_ms") > 0);
        }
      }
}

TEST_CASE("a wrong result fails the check", "[mpi][ring]") {
  BenchmarkCase c;
  c.spec.seq_len = 8 * runtime().size();
  c.iters = 1;
  c.check = true;
  c.tolerance = 1e-30;  // nothing computed in fp32 is this exact
  const BenchmarkOutcome out = run_ring_benchmark(c, runtime());
  REQUIRE(out.check_failed);
}

TEST_CASE("dumped global tensors reproduce the output from outside", "[mpi][dump]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c;
  c.spec.heads = 2;
  c.spec.head_dim = 32;
  c.spec.seq_len = 4 * rt.size() * 5;
  c.spec.mask = "causal";
  c.layout = LayoutKind::zigzag;
  c.iters = 1;
  c.dump_tensors = true;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  if (!rt.is_root()) return;
  const auto& t = out.record.tensors;
  REQUIRE(t.size() == 5);
  std::vector<std::int64_t> pos(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(pos.begin(), pos.end(), 0);
  const AttentionResult ref =
      reference_attention(c.spec, t[0].values, pos, t[1].values, t[2].values, pos);
  REQUIRE(t[3].name == "O");
  for (std::size_t i = 0; i < ref.o.size(); ++i)
    REQUIRE(t[3].values[i] == Approx(ref.o[i]).margin(1e-5));
  for (std::size_t i = 0; i < ref.lse.size(); ++i)
    REQUIRE(t[4].values[i] == Approx(ref.lse[i]).margin(1e-4));
}

TEST_CASE("virtual ranks run the schedule of a P-way ring in one process", "[mpi][virtual]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;  // a one-rank feature
  for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag}) {
    BenchmarkCase c;
    c.spec.heads = 2;
    c.spec.kv_heads = 1;
    c.spec.seq_len = 8 * 11;
    c.spec.mask = "causal";
    c.layout = layout;
    c.virtual_ranks = 4;
    c.iters = 2;
    c.check = true;
    const BenchmarkOutcome out = run_ring_benchmark(c, rt);
    REQUIRE(out.record.check->rel_err < 1e-6);
    REQUIRE(out.record.world_size == 4);
    REQUIRE(out.record.ranks.size() == 4);
    REQUIRE(out.record.compute_ms.size() == 2u * 4 * 4);
    REQUIRE(out.record.bytes_sent.size() == 16u);
    REQUIRE(out.record.bytes_sent[0] > 0);   // rank 0 passes its block on at step 0
    REQUIRE(out.record.bytes_sent[3] == 0);  // and nothing after the last step
  }
}
