// The schemes beside the ring on CPU ranks and virtual ranks: allgather, allgather-pipelined,
// ulysses, hybrid:UxR and doublering:I against the same float64 check as the ring (forward and
// gradients) for every layout and a range of patterns (GQA, kv heads replicated under ulysses),
// traffic equal to each formula, memory to its plan; run under mpirun with 1..4 ranks.
#include <algorithm>
#include <numeric>

#include "core/Error.hpp"
#include "core/PatternSpec.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/RingBenchmark.hpp"
#include "ring/UlyssesShape.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {

BenchmarkCase scheme_case(SchemeKind scheme, const std::string& mask, LayoutKind layout) {
  BenchmarkCase c;
  c.spec.heads = 4;
  c.spec.kv_heads = 2;
  c.spec.head_dim = 32;
  c.spec.seq_len = 96;
  c.spec.mask = mask;
  c.layout = layout;
  c.scheme = scheme;
  c.warmup = 0;
  c.iters = 1;
  c.check = true;
  return c;
}

}  // namespace

TEST_CASE("the gathering schemes equal the float64 reference and move (P - 1) blocks per rank",
          "[mpi][scheme]") {
  const MpiRuntime& rt = runtime();
  for (auto scheme : {SchemeKind::allgather, SchemeKind::allgather_pipelined})
    for (auto pass : {PassKind::fwd, PassKind::fwdbwd})
      for (const std::string mask :
           {"none", "causal", "window:5:3", "bigbird:8:3:1:2", "dilated:24,96:8,16"})
        for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped})
          for (int virtual_ranks : {0, 4}) {
            BenchmarkCase c = scheme_case(scheme, mask, layout);
            c.pass = pass;
            c.virtual_ranks = rt.size() == 1 ? virtual_ranks : 0;
            const int P = c.ring_size(rt.size());
            INFO(to_string(scheme) << " " << to_string(pass) << " " << mask << " "
                                   << to_string(layout) << " P=" << P);
            const BenchmarkOutcome out = run_ring_benchmark(c, rt);
            REQUIRE_FALSE(out.check_failed);
            REQUIRE(out.record.check->rel_err < 1e-6);
            if (pass == PassKind::fwdbwd) {
              const GradientErrors& g = *out.record.check->gradients;
              REQUIRE(std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err}) < 2e-6);
            }
            if (!rt.is_root()) continue;
            // forward: (P - 1) K/V blocks; backward: (P - 1) fp32 dK/dV, as large on CPU ranks
            const double block = out.record.summary.at("kv_block_bytes");
            const int passes = pass == PassKind::fwdbwd ? 2 : 1, steps = passes * P;
            REQUIRE(out.record.summary.at("bytes_sent_per_rank") == passes * (P - 1) * block);
            for (int r = 0; r < P; ++r)
              for (int k = 0; k < passes; ++k) {
                const auto first = out.record.bytes_sent.begin() + r * steps + k * P;
                REQUIRE(std::accumulate(first, first + P, std::int64_t{0}) == (P - 1) * block);
                // the plain gather sends its K/V at step 0, the backward nothing at step 0
                if (k == 0 && scheme == SchemeKind::allgather) REQUIRE(*first == (P - 1) * block);
                if (k == 1) REQUIRE(*first == 0);
              }
            REQUIRE(out.record.summary.at("peak_mem_bytes") ==
                    static_cast<double>(plan_rank_bytes(c, c.spec.seq_len / P)));
          }
}

TEST_CASE("a gathering scheme holds a block of every rank, the ring three", "[mpi][scheme]") {
  BenchmarkCase c = scheme_case(SchemeKind::allgather, "none", LayoutKind::contiguous);
  c.device = DeviceKind::cpu;
  const std::size_t ring = plan_host_rank(c.spec, 12, false);
  const std::size_t gathered = plan_rank_bytes(c, 12);  // 8 ranks of 12 tokens: 7 received blocks
  const std::size_t block = 2 * 2 * 12 * 32 * sizeof(float);
  REQUIRE(gathered == ring + 5 * block);
}

TEST_CASE("ulysses equals the float64 reference and moves its all-to-alls, both passes",
          "[mpi][scheme]") {
  const MpiRuntime& rt = runtime();
  for (auto pass : {PassKind::fwd, PassKind::fwdbwd, PassKind::bwd})
    for (const std::int64_t kv_heads : {12, 6, 2})
      for (const std::string mask :
           {"none", "causal", "window:5:3", "bigbird:8:3:1:2", "blocksparse:8:0.3"})
        for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped})
          for (int virtual_ranks : {0, 4}) {
            BenchmarkCase c = scheme_case(SchemeKind::ulysses, mask, layout);
            c.spec.heads = 12;  // divisible by 1..4 ranks
            c.spec.kv_heads = kv_heads;
            c.pass = pass;
            c.virtual_ranks = rt.size() == 1 ? virtual_ranks : 0;
            const int P = c.ring_size(rt.size());
            const std::int64_t per_rank = 12 / P, group = 12 / kv_heads;
            if (per_rank % group != 0 && group % per_rank != 0) {  // refused, naming kv-heads
              REQUIRE_THROWS_AS(validate(c, rt.size()), ConfigError);
              continue;
            }
            INFO(to_string(pass) << " " << mask << " " << to_string(layout) << " kv " << kv_heads
                                 << " P=" << P);
            const BenchmarkOutcome out = run_ring_benchmark(c, rt);
            REQUIRE_FALSE(out.check_failed);
            REQUIRE(out.record.check->rel_err < 1e-6);
            if (has_backward(pass)) {  // a replicated kv head's dK, dV sum every rank's share
              const GradientErrors& g = *out.record.check->gradients;
              REQUIRE(std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err}) < 2e-6);
            }
            if (!rt.is_root()) continue;
            const UlyssesShape u = ulysses_shape(c, P);
            const std::int64_t forward = has_forward(pass) ? u.in_chunk() + u.out_chunk() : 0;
            const std::int64_t backward =
                has_backward(pass) ? u.grad_in_chunk() + u.grad_out_chunk() : 0;
            REQUIRE(out.record.summary.at("bytes_sent_per_rank") ==
                    static_cast<double>((P - 1) * (forward + backward) * 4));
            REQUIRE(out.record.summary.at("peak_mem_bytes") ==
                    static_cast<double>(plan_rank_bytes(c, c.spec.seq_len / P)));
          }
}

TEST_CASE("hybrid:UxR equals the float64 reference for every split of the ranks, both passes",
          "[mpi][scheme]") {
  const MpiRuntime& rt = runtime();
  for (int virtual_ranks : {0, 4}) {
    const int P = rt.size() == 1 && virtual_ranks > 1 ? virtual_ranks : rt.size();
    for (int U = 1; U <= P; ++U) {
      if (P % U != 0) continue;
      const int R = P / U;
      for (auto pass : {PassKind::fwd, PassKind::fwdbwd, PassKind::bwd})
        for (const std::int64_t kv_heads : {12, 2})
          for (const std::string mask : {"none", "causal", "window:5:3", "blocksparse:8:0.3"})
            for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
              BenchmarkCase c = scheme_case(SchemeKind::hybrid, mask, layout);
              c.set_scheme({SchemeKind::hybrid, U, R});
              c.spec.heads = 12;  // divisible by 1..4 ranks
              c.spec.kv_heads = kv_heads;
              c.pass = pass;
              c.virtual_ranks = rt.size() == 1 ? virtual_ranks : 0;
              const std::int64_t per_rank = 12 / U, group = 12 / kv_heads;
              INFO(c.scheme_text() << " " << to_string(pass) << " " << mask << " "
                                   << to_string(layout) << " kv " << kv_heads << " P=" << P);
              if ((per_rank % group != 0 && group % per_rank != 0) ||
                  (layout == LayoutKind::striped && R > 1)) {  // refused, naming the key
                REQUIRE_THROWS_AS(validate(c, rt.size()), ConfigError);
                continue;
              }
              const BenchmarkOutcome out = run_ring_benchmark(c, rt);
              REQUIRE_FALSE(out.check_failed);
              REQUIRE(out.record.check->rel_err < 1e-6);
              if (has_backward(pass)) {
                const GradientErrors& g = *out.record.check->gradients;
                REQUIRE(std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err}) < 2e-6);
              }
              if (!rt.is_root()) continue;
              // the all-to-alls of a group, and a dense ring of R members on the rank's heads
              const UlyssesShape u = ulysses_shape(c, P);
              REQUIRE((u.ranks == U && u.groups == R && u.tokens == c.spec.seq_len / R));
              const std::int64_t kv = 2 * u.rank_kv_heads * u.tokens * u.dim;
              std::int64_t values = 0;
              if (has_forward(pass))
                values += (U - 1) * (u.in_chunk() + u.out_chunk()) + (R - 1) * kv;
              if (has_backward(pass))
                values += (U - 1) * (u.grad_in_chunk() + u.grad_out_chunk()) +
                          (R > 1 ? (R - 1) * 2 * kv + 2 * kv : 0);
              const double sent = out.record.summary.at("bytes_sent_per_rank");
              if (mask == "none" || mask == "causal")
                REQUIRE(sent == static_cast<double>(values * 4));
              else  // a sparse ring passes on only the blocks and rows its members read
                REQUIRE(sent <= static_cast<double>(values * 4));
              REQUIRE(out.record.summary.at("peak_mem_bytes") ==
                      static_cast<double>(plan_rank_bytes(c, c.spec.seq_len / P)));
            }
    }
    if (rt.size() > 1) break;  // virtual ranks only in a one-rank run
  }
}

TEST_CASE("doublering:I equals the float64 reference for every inner ring size, both passes",
          "[mpi][scheme]") {
  const MpiRuntime& rt = runtime();
  for (int virtual_ranks : {0, 4}) {
    const int P = rt.size() == 1 && virtual_ranks > 1 ? virtual_ranks : rt.size();
    for (int I = 1; I <= P; ++I) {
      if (P % I != 0) continue;
      const int O = P / I;
      for (auto pass : {PassKind::fwd, PassKind::fwdbwd, PassKind::bwd})
        for (const std::int64_t kv_heads : {4, 2})
          for (const std::string mask : {"none", "causal", "window:5:3", "dilated:24,96:8,16"})
            for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
              BenchmarkCase c = scheme_case(SchemeKind::doublering, mask, layout);
              c.set_scheme({SchemeKind::doublering, I, 0});
              c.spec.kv_heads = kv_heads;
              c.pass = pass;
              c.virtual_ranks = rt.size() == 1 ? virtual_ranks : 0;
              INFO(c.scheme_text() << " " << to_string(pass) << " " << mask << " "
                                   << to_string(layout) << " kv " << kv_heads << " P=" << P);
              const BenchmarkOutcome out = run_ring_benchmark(c, rt);
              REQUIRE_FALSE(out.check_failed);
              REQUIRE(out.record.check->rel_err < 1e-6);
              if (has_backward(pass)) {
                const GradientErrors& g = *out.record.check->gradients;
                REQUIRE(std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err}) < 2e-6);
              }
              if (!rt.is_root()) continue;
              // whole blocks on both rings, whatever the pattern: forward P - 1 blocks (O (I - 1)
              // inner, O - 1 outer); backward per inner ring of I > 1 I - 1 blocks with their
              // accumulators and the accumulators twice, on the outer ring O - 1 blocks and O sums
              const double block = out.record.summary.at("kv_block_bytes");  // = dK/dV in fp32
              double per_pass[2] = {(P - 1) * block, (O - 1) * block + (O > 1 ? O * block : 0)};
              if (I > 1) per_pass[1] += O * ((I - 1) * 2 * block + 2 * block);
              const double sent =
                  (has_forward(pass) ? per_pass[0] : 0) + (has_backward(pass) ? per_pass[1] : 0);
              REQUIRE(out.record.summary.at("bytes_sent_per_rank") == sent);
              const int passes = pass == PassKind::fwdbwd ? 2 : 1, steps = passes * P;
              for (int r = 0; r < P; ++r) {  // every rank the same, its outer block at step 0
                const auto first = out.record.bytes_sent.begin() + r * steps;
                REQUIRE(std::accumulate(first, first + steps, 0.0) == sent);
                if (has_forward(pass) && O > 1) REQUIRE(*first == (I > 1 ? 2 : 1) * block);
              }
              REQUIRE(out.record.summary.at("peak_mem_bytes") ==
                      static_cast<double>(plan_rank_bytes(c, c.spec.seq_len / P)));
            }
    }
    if (rt.size() > 1) break;  // virtual ranks only in a one-rank run
  }
}

TEST_CASE("doublering:I is refused unless I divides the ranks, on emulated rings, across GPUs",
          "[scheme]") {
  for (const std::string bad : {"doublering:0", "doublering:", "doublering:x", "doublering:2x2"})
    REQUIRE_THROWS_AS(parse_scheme(bad), ConfigError);
  REQUIRE(parse_scheme("doublering:2").group_ranks == 2);
  BenchmarkCase c = scheme_case(SchemeKind::doublering, "causal", LayoutKind::zigzag);
  c.set_scheme({SchemeKind::doublering, 3, 0});
  c.virtual_ranks = 4;
  try {
    validate(c, 1);
    FAIL("doublering:3 accepted on 4 ranks");
  } catch (const ConfigError& e) {
    REQUIRE(std::string(e.what()).find("'doublering:3'") != std::string::npos);
  }
  c.set_scheme({SchemeKind::doublering, 2, 0});
  REQUIRE_NOTHROW(validate(c, 1));
  c.virtual_ranks = 0;
  c.ring_size_option = 8;  // emulated: every member's blocks would be generated
  REQUIRE_THROWS_AS(validate(c, 4), ConfigError);
  c.ring_size_option = 0;
  c.device = DeviceKind::cuda;
  c.kernel = KernelKind::flash;
  c.spec.dtype = DType::bf16;
  c.spec.head_dim = 64;
  try {
    validate(c, 4);
    FAIL("accepted across 4 GPUs");
  } catch (const ConfigError& e) {
    REQUIRE(std::string(e.what()).find("not built") != std::string::npos);
  }
  c.virtual_ranks = 4;
  REQUIRE_NOTHROW(validate(c, 1));
}

// On GPUs the head-sharding schemes run on the virtual ranks of one GPU (device copies) or on one
// rank; across real GPUs their all-to-all would need NCCL, which is not built: refused, naming
// the scheme, before anything is allocated.
TEST_CASE("ulysses and hybrid on device cuda: virtual ranks or one rank, refused across GPUs",
          "[scheme]") {
  for (const SchemeChoice& scheme :
       {SchemeChoice{SchemeKind::ulysses, 0, 0}, SchemeChoice{SchemeKind::hybrid, 2, 2}}) {
    BenchmarkCase c = scheme_case(scheme.kind, "causal", LayoutKind::zigzag);
    c.set_scheme(scheme);
    c.device = DeviceKind::cuda;
    c.kernel = KernelKind::flash;
    c.spec.dtype = DType::bf16;
    c.spec.head_dim = 64;
    c.virtual_ranks = 4;
    INFO(c.scheme_text());
    REQUIRE_NOTHROW(validate(c, 1));
    c.virtual_ranks = 0;
    try {
      validate(c, 4);
      FAIL("accepted across 4 GPUs");
    } catch (const ConfigError& e) {
      REQUIRE(std::string(e.what()).find("'scheme'") != std::string::npos);
      REQUIRE(std::string(e.what()).find("not built") != std::string::npos);
    }
  }
  BenchmarkCase one = scheme_case(SchemeKind::ulysses, "none", LayoutKind::contiguous);
  one.device = DeviceKind::cuda;
  one.kernel = KernelKind::flash;
  one.spec.dtype = DType::bf16;
  one.spec.head_dim = 64;
  REQUIRE_NOTHROW(validate(one, 1));
}
