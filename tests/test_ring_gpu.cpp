// GPU tests, run under mpirun with 1 and 2 ranks (one GPU each); skipped without GPUs.
#include <cmath>
#include <numeric>

#include "core/Error.hpp"
#include "core/ReferenceAttention.hpp"
#include "ring/RingBenchmark.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {
BenchmarkCase gpu_case(DType dtype, std::int64_t head_dim, MaskKind mask, LayoutKind layout,
                       std::int64_t seq) {
  BenchmarkCase c;
  c.device = DeviceKind::cuda;
  c.kernel = KernelKind::flash;
  c.spec.dtype = dtype;
  c.spec.heads = 4;
  c.spec.kv_heads = 2;  // GQA
  c.spec.head_dim = head_dim;
  c.spec.seq_len = seq;
  c.spec.mask = mask;
  c.layout = layout;
  c.warmup = 1;
  c.iters = 2;
  c.check = true;
  return c;
}
}  // namespace

TEST_CASE("GPU ring equals the GPU reference: dtypes, head dims, masks, layouts, GQA",
          "[gpu][ring]") {
  const MpiRuntime& rt = runtime();
  const std::int64_t seq = 2 * rt.size() * 1500;  // not a power of two; tiles with tails
  for (auto dtype : {DType::bf16, DType::fp16})
    for (std::int64_t dim : {64, 128})
      for (auto mask : {MaskKind::none, MaskKind::causal})
        for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag}) {
          const BenchmarkCase c = gpu_case(dtype, dim, mask, layout, seq);
          INFO(to_string(dtype) << " dim " << dim << " " << to_string(mask) << " "
                                << to_string(layout) << " ranks " << rt.size());
          const BenchmarkOutcome out = run_ring_benchmark(c, rt);
          REQUIRE(out.record.check->rel_err < c.effective_tolerance());
          REQUIRE(out.record.check->lse_max_abs_err < 1e-2);
          REQUIRE_FALSE(out.check_failed);
          if (rt.is_root()) REQUIRE(out.record.summary.at("median_ms") > 0);
        }
}

TEST_CASE("GPU reference kernel ring agrees too", "[gpu][ring]") {
  BenchmarkCase c =
      gpu_case(DType::bf16, 128, MaskKind::causal, LayoutKind::zigzag, 2 * runtime().size() * 700);
  c.kernel = KernelKind::reference;
  REQUIRE_FALSE(run_ring_benchmark(c, runtime()).check_failed);
}

TEST_CASE("GPU ring output equals the float64 CPU reference on a small problem", "[gpu][ring]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c =
      gpu_case(DType::bf16, 64, MaskKind::causal, LayoutKind::zigzag, 2 * rt.size() * 96);
  c.check = false;
  c.dump_tensors = true;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  if (!rt.is_root()) return;
  const auto& t = out.record.tensors;
  std::vector<std::int64_t> pos(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(pos.begin(), pos.end(), 0);
  const AttentionResult ref =
      reference_attention(c.spec, t[0].values, pos, t[1].values, t[2].values, pos);
  double diff2 = 0, ref2 = 0;
  for (std::size_t i = 0; i < ref.o.size(); ++i) {
    diff2 += std::pow(double(t[3].values[i]) - ref.o[i], 2);
    ref2 += std::pow(double(ref.o[i]), 2);
  }
  REQUIRE(std::sqrt(diff2 / ref2) < 1e-2);  // bf16 probabilities in P·V
}

TEST_CASE("virtual ranks on one GPU equal the reference", "[gpu][virtual]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;
  BenchmarkCase c = gpu_case(DType::bf16, 128, MaskKind::causal, LayoutKind::zigzag, 8 * 1000);
  c.virtual_ranks = 4;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  REQUIRE_FALSE(out.check_failed);
  REQUIRE(out.record.ranks.size() == 4);
  REQUIRE(out.record.summary.at("comm_ms") > 0);  // blocks really moved, by device copies
}

TEST_CASE("a case that does not fit in GPU memory is refused with the numbers", "[gpu][memory]") {
  BenchmarkCase c =
      gpu_case(DType::bf16, 128, MaskKind::none, LayoutKind::contiguous, std::int64_t{1} << 30);
  c.spec.heads = 32;
  c.spec.kv_heads = 32;
  try {
    run_ring_benchmark(c, runtime());
    FAIL("a 1G-token, 32-head case was accepted");
  } catch (const ConfigError& e) {
    REQUIRE(std::string(e.what()).find("GPU memory") != std::string::npos);
    REQUIRE(std::string(e.what()).find("GiB") != std::string::npos);
  }
}
