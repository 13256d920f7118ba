// The ring backward pass under mpirun (1..4 ranks) and with virtual ranks: gradients against the
// float64 reference for every layout, mask and head shape, error versus ring size, the bytes and
// FLOPs each step records, and causal work balance per layout.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/FlopCount.hpp"
#include "core/InputGenerator.hpp"
#include "core/ReferenceBackward.hpp"
#include "ring/RingBenchmark.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {

BenchmarkCase backward_case(std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim,
                            std::int64_t seq_len, const std::string& mask, LayoutKind layout) {
  BenchmarkCase c;
  c.spec.heads = heads;
  c.spec.kv_heads = kv_heads;
  c.spec.head_dim = head_dim;
  c.spec.seq_len = seq_len;
  c.spec.mask = mask;
  c.layout = layout;
  c.pass = PassKind::fwdbwd;
  c.warmup = 0;
  c.iters = 1;
  c.check = true;
  return c;
}

double worst_gradient_error(const RunRecord& r) {
  const GradientErrors& g = *r.check->gradients;
  return std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err});
}

// Sum over steps of a [ranks][steps] array, per rank.
std::vector<double> per_rank(const std::vector<double>& a, int ranks) {
  std::vector<double> out(static_cast<std::size_t>(ranks), 0.0);
  const std::size_t steps = a.size() / static_cast<std::size_t>(ranks);
  for (std::size_t i = 0; i < a.size(); ++i) out[i / steps] += a[i];
  return out;
}

}  // namespace

TEST_CASE("ring backward equals the float64 reference for every layout, mask and head shape",
          "[mpi][backward]") {
  const MpiRuntime& rt = runtime();
  struct Shape {
    std::int64_t heads, kv_heads, head_dim;
  };
  // GQA 4/2 and 3/1 (dK, dV summed over the sharing heads), head dims 32, 64 and 128
  for (auto shape : {Shape{3, 1, 32}, Shape{4, 2, 64}, Shape{2, 2, 128}})
    for (const std::string mask : {"none", "causal"})
      for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
        // odd chunks: tiles with tails; 128 rows per rank at most (kernel tiles of 32 x 64)
        const BenchmarkCase c =
            backward_case(shape.heads, shape.kv_heads, shape.head_dim,
                          2 * rt.size() * (shape.head_dim == 128 ? 17 : 37), mask, layout);
        INFO("heads " << shape.heads << "/" << shape.kv_heads << " dim " << shape.head_dim
                      << " mask " << mask << " layout " << to_string(layout) << " ranks "
                      << rt.size());
        const BenchmarkOutcome out = run_ring_benchmark(c, rt);
        REQUIRE_FALSE(out.check_failed);
        REQUIRE(out.record.check->rel_err < 1e-6);
        REQUIRE(worst_gradient_error(out.record) < 2e-6);
        if (!rt.is_root()) continue;
        REQUIRE(out.record.steps == 2 * rt.size());  // the forward's steps, then the backward's
        REQUIRE(out.record.passes.size() == 2);
        REQUIRE(out.record.summary.at("bwd_median_ms") > 0);
        const double flops =
            std::accumulate(out.record.step_flops.begin(), out.record.step_flops.end(), 0.0);
        REQUIRE(flops == Approx((1 + kBackwardFlopsPerForward) * attention_flops(c.spec)));
        REQUIRE(out.record.summary.at("flops") == Approx(flops));
      }
}

TEST_CASE("the backward alone starts from the forward's output and checks the same",
          "[mpi][backward]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c = backward_case(2, 1, 64, 4 * rt.size() * 8, "causal", LayoutKind::zigzag);
  c.pass = PassKind::bwd;
  c.iters = 2;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  REQUIRE_FALSE(out.check_failed);
  REQUIRE(worst_gradient_error(out.record) < 2e-6);
  if (!rt.is_root()) return;
  const int P = rt.size();
  REQUIRE(out.record.steps == P);
  REQUIRE(out.record.passes.count("forward") == 0);
  REQUIRE(out.record.summary.count("fwd_median_ms") == 0);
  // (K, V, dK, dV) go on until the last step, which sends dK, dV on and then home: on the CPU
  // (fp32 K, V) twice the K/V block at every step
  const std::int64_t kv =
      2 * c.spec.effective_kv_heads() * (c.spec.seq_len / P) * c.spec.head_dim * 4;
  for (int s = 0; s < P; ++s) REQUIRE(out.record.bytes_sent[s] == (P == 1 ? 0 : 2 * kv));
}

TEST_CASE("a wrong gradient fails the check", "[mpi][backward]") {
  BenchmarkCase c = backward_case(2, 2, 32, 8 * runtime().size(), "none", LayoutKind::contiguous);
  c.tolerance = 1e-30;  // nothing computed in fp32 is this exact
  const BenchmarkOutcome out = run_ring_benchmark(c, runtime());
  REQUIRE(out.check_failed);
  REQUIRE(out.record.check->gradients.has_value());
}

TEST_CASE("dumped gradients match the reference computed from the dumped inputs",
          "[mpi][backward][dump]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c = backward_case(2, 1, 32, 2 * rt.size() * 6, "causal", LayoutKind::striped);
  c.check = false;
  c.dump_tensors = true;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  if (!rt.is_root()) return;
  auto tensor = [&](const std::string& name) -> const std::vector<float>& {
    for (const auto& t : out.record.tensors)
      if (t.name == name) return t.values;
    FAIL("no tensor " << name);
    return out.record.tensors.front().values;
  };
  std::vector<std::int64_t> pos(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(pos.begin(), pos.end(), 0);
  const KeyRows keys{tensor("K"), tensor("V"), pos};
  QueryRows queries{tensor("Q"), tensor("dO"), pos, nullptr};
  const RowStats stats = reference_row_stats(c.spec, queries, keys);
  queries.stats = &stats;
  const std::vector<double> dq = reference_dq(c.spec, queries, keys);
  const KeyGradients dkv = reference_dkv(c.spec, queries, keys);
  for (std::size_t i = 0; i < dq.size(); ++i)
    REQUIRE(tensor("dQ")[i] == Approx(dq[i]).margin(1e-5));
  for (std::size_t i = 0; i < dkv.dk.size(); ++i)
    REQUIRE(tensor("dK")[i] == Approx(dkv.dk[i]).margin(1e-5));
  for (std::size_t i = 0; i < dkv.dv.size(); ++i)
    REQUIRE(tensor("dV")[i] == Approx(dkv.dv[i]).margin(1e-5));
}

TEST_CASE("virtual ranks run the backward ring in lockstep", "[mpi][backward][virtual]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;  // a one-rank feature
  for (int P : {2, 3, 4})
    for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
      BenchmarkCase c = backward_case(4, 2, 32, 2 * P * 9, "causal", layout);
      c.virtual_ranks = P;
      INFO("virtual ranks " << P << " layout " << to_string(layout));
      const BenchmarkOutcome out = run_ring_benchmark(c, rt);
      REQUIRE_FALSE(out.check_failed);
      REQUIRE(worst_gradient_error(out.record) < 2e-6);
      REQUIRE(out.record.world_size == P);
      REQUIRE(out.record.compute_ms.size() == std::size_t(2 * P * P));
    }
}

// The target: the gradients' error must not grow with the ring (fp32 accumulation of dQ
// over steps and of dK/dV over ranks). Ring sizes 1..4 on one process; error at 4 within 1.5x of 1.
TEST_CASE("gradient error does not grow with the ring size", "[mpi][backward][virtual]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;
  for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
    std::vector<GradientErrors> errors;
    for (int P : {1, 2, 3, 4}) {
      BenchmarkCase c = backward_case(2, 1, 64, 384, "causal", layout);
      c.virtual_ranks = P > 1 ? P : 0;
      errors.push_back(*run_ring_benchmark(c, rt).record.check->gradients);
    }
    for (std::size_t i = 0; i < errors.size(); ++i)
      WARN(to_string(layout) << " ring " << i + 1 << ": dq " << errors[i].dq_rel_err << " dk "
                             << errors[i].dk_rel_err << " dv " << errors[i].dv_rel_err);
    INFO("layout " << to_string(layout));
    REQUIRE(errors[3].dq_rel_err <= 1.5 * errors[0].dq_rel_err);
    REQUIRE(errors[3].dk_rel_err <= 1.5 * errors[0].dk_rel_err);
    REQUIRE(errors[3].dv_rel_err <= 1.5 * errors[0].dv_rel_err);
  }
}

TEST_CASE("causal work is balanced by zigzag and striped, not by contiguous", "[mpi][balance]") {
  const MpiRuntime& rt = runtime();
  const int P = rt.size();
  if (P < 2) return;
  for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
    BenchmarkCase c = backward_case(2, 2, 32, 2 * P * 16, "causal", layout);
    c.check = false;
    const BenchmarkOutcome out = run_ring_benchmark(c, rt);
    if (!rt.is_root()) continue;
    const std::vector<double> work = per_rank(out.record.step_flops, P);
    const auto [lo, hi] = std::minmax_element(work.begin(), work.end());
    const double n = double(c.spec.seq_len) / P;
    INFO("layout " << to_string(layout) << " work max/min " << *hi / *lo);
    // contiguous: the last rank attends to every earlier key, the first only to its diagonal block
    if (layout == LayoutKind::contiguous)
      REQUIRE(*hi / *lo == Approx(1.0 + 2.0 * (P - 1) * n / (n + 1)));
    if (layout == LayoutKind::zigzag) REQUIRE(*hi / *lo == Approx(1.0));
    // striped: rank r's keys from rank r' > r lose the diagonal: n(n-1)/2 instead of n(n+1)/2
    if (layout == LayoutKind::striped) REQUIRE(*hi / *lo <= (n + 1) / (n - 1));
    REQUIRE(out.record.summary.count("compute_imbalance") == 1);
  }
}
