// `ringbench plan`'s model on synthetic calibrations whose answers can be worked out by hand:
// curves, the ring's step recurrence (overlapping and not, coupled ranks and one-process ranks),
// the memory plan and the longest fitting sequence, and the calibration file round trip.
#include <filesystem>

#include "core/Error.hpp"
#include "core/FlopCount.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/plan/Calibration.hpp"
#include "ring/plan/CostModel.hpp"
#include "ring/plan/RingPrediction.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

BenchmarkCase cpu_case(std::int64_t seq, const std::string& mask, LayoutKind layout) {
  BenchmarkCase c;
  c.spec.seq_len = seq;
  c.spec.heads = 2;
  c.spec.kv_heads = 2;
  c.spec.head_dim = 32;
  c.spec.mask = mask;
  c.spec.dtype = DType::fp32;
  c.layout = layout;
  return c;
}

// FLOPs of a whole block of n queries and n keys in every head.
double block_flops_whole(const ProblemSpec& s, std::int64_t n) {
  return flops_for_pairs(s, n * n * s.heads);
}

// `ms_per_gflop` for whole boxes, `partial_ms_per_gflop` for the rest, at two sizes (a line).
std::vector<ComputeSample> linear_curves(double ms_per_gflop, double partial_ms_per_gflop) {
  std::vector<ComputeSample> s;
  for (double gflop : {1.0, 100.0}) {
    s.push_back(
        {"cpu", "cpu", "forward", "fp32", 32, 1, "full", gflop * 1e9, gflop * ms_per_gflop});
    s.push_back({"cpu", "cpu", "forward", "fp32", 32, 1, "causal", gflop * 1e9,
                 gflop * partial_ms_per_gflop});
  }
  return s;
}

// A link taking `ms` for any block size of these tests.
LinkModel fixed_link(const std::string& kind, double block_bytes, double ms) {
  return LinkModel::rated(kind, block_bytes / (ms * 1e-3) / 1e9, 0, "test");
}

PlanCluster ring_of(int ranks, const LinkModel& link) {
  PlanCluster p;
  p.ranks = ranks;
  p.ranks_per_host = ranks;
  p.intra = p.inter = link;
  return p;
}

}  // namespace

TEST_CASE("measured curves interpolate between points and extrapolate at the end rates", "[plan]") {
  const MeasuredCurve kernel({{10, 2}, {20, 3}, {20, 5}, {40, 4}});  // 20 -> median(3, 5) = 4
  CHECK(kernel.points() == 3);
  CHECK(kernel.ms(15) == Approx(3.0));
  CHECK(kernel.ms(30) == Approx(4.0));
  CHECK(kernel.ms(80) == Approx(8.0));  // the largest point's rate
  CHECK(kernel.ms(5) == Approx(1.0));   // the smallest point's rate
  const MeasuredCurve link({{10, 2}, {40, 4}}, true);
  CHECK(link.ms(1) == Approx(2.0));  // latency: no faster below the smallest message
}

TEST_CASE("a dense ring is as slow as its steps and, when they are longer, its transfers",
          "[plan]") {
  const BenchmarkCase c = cpu_case(4096, "none", LayoutKind::contiguous);
  const ComputeModel model(linear_curves(1.0, 1.0));
  const double step_ms = block_flops_whole(c.spec, 1024) / 1e9;  // 1 ms per GFLOP
  const double block = static_cast<double>(travelling_block(c, 1024).kv);
  // NCCL-like links run beside the kernel: three steps with a transfer, the last without
  const auto fast = predict_ring(c, ring_of(4, fixed_link("nccl", block, step_ms / 2)), model);
  CHECK(fast.iteration_ms == Approx(4 * step_ms));
  CHECK(fast.exposed_ms == Approx(0).margin(1e-9));
  const auto slow = predict_ring(c, ring_of(4, fixed_link("nccl", block, 2 * step_ms)), model);
  CHECK(slow.iteration_ms == Approx(3 * 2 * step_ms + step_ms));
  CHECK(slow.exposed_ms == Approx(3 * step_ms));
  // MPI between CPU ranks moves the block after the step's compute
  const auto mpi = predict_ring(c, ring_of(4, fixed_link("mpi", block, 2 * step_ms)), model);
  CHECK(mpi.iteration_ms == Approx(3 * 3 * step_ms + step_ms));
  CHECK(mpi.bytes_per_rank == Approx(3 * block));
  CHECK(fast.flops == Approx(attention_flops(c.spec)));
  CHECK(fast.tflops_per_rank == Approx(fast.flops / (fast.iteration_ms * 1e-3) / 4 / 1e12));
}

TEST_CASE("a contiguous causal ring waits for its busiest rank; zigzag balances it", "[plan]") {
  const ComputeModel model(linear_curves(1.0, 2.0));           // masked tiles cost twice per FLOP
  const auto link = LinkModel::rated("nccl", 1e6, 0, "test");  // transfers take no time
  const BenchmarkCase contiguous = cpu_case(4096, "causal", LayoutKind::contiguous);
  const auto p = predict_ring(contiguous, ring_of(4, link), model);
  const double whole = block_flops_whole(contiguous.spec, 1024) / 1e9;
  // the last rank: a causal diagonal (half the pairs at twice the cost) and three whole blocks;
  // its neighbours wait for it, as the coupled ring makes them
  CHECK(p.compute_ms == Approx(whole * 0.5 * (1 + 1.0 / 1024) * 2 + 3 * whole).epsilon(1e-6));
  CHECK(p.iteration_ms == Approx(p.compute_ms).epsilon(1e-6));
  const auto z =
      predict_ring(cpu_case(4096, "causal", LayoutKind::zigzag), ring_of(4, link), model);
  CHECK(z.iteration_ms < p.iteration_ms);
  // one process running 4 virtual ranks: each rank alone, the slowest one's time
  PlanCluster virtual_ranks = ring_of(4, link);
  virtual_ranks.one_process = true;
  CHECK(predict_ring(contiguous, virtual_ranks, model).iteration_ms ==
        Approx(p.compute_ms).epsilon(1e-6));
}

TEST_CASE("plan refuses a calibration without the case's kind of steps", "[plan]") {
  BenchmarkCase c = cpu_case(1024, "none", LayoutKind::contiguous);
  c.spec.head_dim = 64;
  const ComputeModel model(linear_curves(1.0, 1.0));
  CHECK_THROWS_AS(predict_ring(c, ring_of(1, LinkModel::rated("mpi", 1, 0, "test")), model),
                  ConfigError);
}

TEST_CASE("plan's memory is the run's memory plan; the longest fit is the last that fits",
          "[plan]") {
  BenchmarkCase c = cpu_case(8192, "causal", LayoutKind::zigzag);
  CHECK(rank_memory(c, 4) == static_cast<double>(plan_host_rank(c.spec, 2048, false)));
  c.device = DeviceKind::cuda;
  c.spec.dtype = DType::bf16;
  c.kernel = KernelKind::flash;
  const double limit = 8.0 * (1 << 30);
  const std::int64_t longest = longest_fitting(c, 4, limit);
  REQUIRE(longest > 0);
  CHECK(longest % 8 == 0);  // zigzag on 4 ranks: 8 chunks
  BenchmarkCase at = c, past = c;
  at.spec.seq_len = longest;
  past.spec.seq_len = longest + 8;
  CHECK(rank_memory(at, 4) + kDeviceReservedBytes <= limit);
  CHECK(rank_memory(past, 4) + kDeviceReservedBytes > limit);
}

TEST_CASE("calibration files keep every sample", "[plan]") {
  Calibration cal;
  cal.device_name = "cpu";
  cal.ranks = 2;
  cal.ranks_per_host = 2;
  cal.memory_free = 3e9;
  cal.compute = linear_curves(1.0, 2.0);
  cal.links = {{"mpi", 1e6, 0.1}, {"mpi", 4e6, 0.3}};
  const auto path = std::filesystem::temp_directory_path() / "ringbench_test_calibration.h5";
  write_calibration(path, cal);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(path).concat(".tmp")));
  const Calibration back = read_calibration(path, "calibration");
  CHECK(back.compute.size() == cal.compute.size());
  CHECK(back.links.size() == 2);
  CHECK(back.ranks_per_host == 2);
  CHECK(back.memory_free == 3e9);
  const ComputeModel model(back.compute);
  const ComputeQuery q{"cpu", "cpu", "forward", "fp32", 32, 1, "causal"};
  CHECK(model.step_ms(q, false, 50e9) == Approx(100.0));
  CHECK(model.step_ms(q, true, 50e9) == Approx(50.0));
  std::filesystem::remove(path);
  CHECK_THROWS_AS(read_calibration(path, "calibration"), ConfigError);
}
