#include "core/AttentionPattern.hpp"
#include "core/FlopCount.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {
std::int64_t brute_force(const AttentionPattern& p, const PositionRun& q, const PositionRun& k) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < q.length; ++i)
    for (std::int64_t j = 0; j < k.length; ++j)
      n += p.allows(q.global_start + i * q.stride, k.global_start + j * k.stride, 0, 0);
  return n;
}
}  // namespace

TEST_CASE("causal pair counts are exact for every relative placement of two runs", "[pattern]") {
  const CausalPattern causal;
  for (std::int64_t a = 0; a < 12; ++a)
    for (std::int64_t n = 1; n < 7; ++n)
      for (std::int64_t b = 0; b < 12; ++b)
        for (std::int64_t m = 1; m < 7; ++m)
          for (std::int64_t stride : {1, 3}) {
            const PositionRun q{0, a, n, stride}, k{0, b, m, stride};
            REQUIRE(causal.count_allowed(q, k, 0) == brute_force(causal, q, k));
          }
}

TEST_CASE("coverage never calls a box none or full wrongly", "[pattern]") {
  const CausalPattern causal;
  for (std::int64_t q0 = 0; q0 < 8; ++q0)
    for (std::int64_t q1 = q0; q1 < 8; ++q1)
      for (std::int64_t k0 = 0; k0 < 8; ++k0)
        for (std::int64_t k1 = k0; k1 < 8; ++k1) {
          const PositionRun q{0, q0, q1 - q0 + 1, 1}, k{0, k0, k1 - k0 + 1, 1};
          const std::int64_t allowed = brute_force(causal, q, k);
          const Coverage c = causal.coverage(q0, q1, k0, k1, 0, 0);
          if (c == Coverage::none) REQUIRE(allowed == 0);
          if (c == Coverage::full) REQUIRE(allowed == q.length * k.length);
          if (c == Coverage::partial) REQUIRE((allowed > 0 && allowed < q.length * k.length));
        }
}

TEST_CASE("FLOP counts: 4*B*H*D per allowed pair, causal counts S(S+1)/2 pairs", "[flops]") {
  ProblemSpec spec;
  spec.batch = 2;
  spec.heads = 3;
  spec.head_dim = 64;
  spec.seq_len = 1000;
  REQUIRE(attention_flops(spec) == 4.0 * 2 * 3 * 64 * 1000.0 * 1000.0);
  spec.mask = "causal";
  REQUIRE(attention_flops(spec) == 4.0 * 2 * 3 * 64 * (1000.0 * 1001.0 / 2));
}
