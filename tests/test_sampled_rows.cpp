// --check-rows (ring/SampledRowCheck.hpp): the sampled positions, and the comparison of a rank's
// rows with the float64 reference against every key, which must see an error in a sampled row,
// an empty row where the reference has keys, and nothing in rows it does not sample.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/InputGenerator.hpp"
#include "core/ReferenceAttention.hpp"
#include "ring/SampledRowCheck.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

// The exact result of ring rank `rank`'s rows: the float64 reference over the whole sequence.
AttentionResult exact_rows(const BenchmarkCase& c, const SequenceLayout& layout, int rank) {
  const ProblemSpec& s = c.spec;
  const std::vector<std::int64_t> q_pos = layout.positions(rank);
  std::vector<std::int64_t> all(static_cast<std::size_t>(s.seq_len));
  for (std::int64_t i = 0; i < s.seq_len; ++i) all[static_cast<std::size_t>(i)] = i;
  std::vector<float> q(static_cast<std::size_t>(s.batch * s.heads * s.head_dim) * q_pos.size());
  std::vector<float> k(
      static_cast<std::size_t>(s.batch * s.effective_kv_heads() * s.head_dim * s.seq_len)),
      v(k.size());
  generate_tensor(TensorRole::q, c.seed, s, q_pos, q);
  generate_tensor(TensorRole::k, c.seed, s, all, k);
  generate_tensor(TensorRole::v, c.seed, s, all, v);
  return reference_attention(s, q, q_pos, k, v, all);
}

double rel_err(const ErrorSums& s) {
  return std::sqrt(s.diff2 / s.ref2);
}

}  // namespace

TEST_CASE("sampled positions are the centres of equal slices", "[check-rows]") {
  CHECK(sampled_positions(10, 3) == std::vector<std::int64_t>{1, 5, 8});
  CHECK(sampled_positions(8, 8) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(sampled_positions(1 << 30, 2) == std::vector<std::int64_t>{1 << 28, 3 << 28});
}

TEST_CASE("sampled rows are compared with the float64 reference over every key", "[check-rows]") {
  for (const std::string mask : {"causal", "window:40:10", "dilated:64,128:1,2+causal"}) {
    BenchmarkCase c;
    c.spec.batch = 2, c.spec.heads = 4, c.spec.kv_heads = 2, c.spec.head_dim = 16;
    c.spec.seq_len = 512, c.spec.mask = mask;
    c.check_rows = 24;
    const SequenceLayout layout(LayoutKind::zigzag, c.spec.seq_len, 2);
    INFO(mask);
    for (int rank : {0, 1}) {
      AttentionResult got = exact_rows(c, layout, rank);
      const ErrorSums exact = compare_sampled_rows(c, layout, rank, got);
      REQUIRE(exact.ref2 > 0);
      CHECK(rel_err(exact) < 1e-6);
      CHECK(exact.lse_max_abs < 1e-5);

      // a sampled row of head 3, batch 1, that rank holds: its error is seen
      const std::int64_t n = layout.local_len();
      std::int64_t sampled_local = -1, unsampled_local = -1;
      for (std::int64_t p : sampled_positions(c.spec.seq_len, c.check_rows))
        if (layout.locate(p).first == rank) sampled_local = layout.locate(p).second;
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t p = layout.global_index(rank, i);
        bool sampled = false;
        for (std::int64_t s : sampled_positions(c.spec.seq_len, c.check_rows)) sampled |= s == p;
        if (!sampled) unsampled_local = i;
      }
      REQUIRE(sampled_local >= 0);
      const auto row = [&](std::int64_t local) {
        return static_cast<std::size_t>((1 * c.spec.heads + 3) * n + local);
      };
      AttentionResult off = got;
      off.o[row(unsampled_local) * 16] += 1.0f;  // not sampled: not seen
      CHECK(rel_err(compare_sampled_rows(c, layout, rank, off)) < 1e-6);
      off.o[row(sampled_local) * 16 + 5] += 0.5f;
      CHECK(rel_err(compare_sampled_rows(c, layout, rank, off)) > 1e-3);
      AttentionResult empty = got;
      empty.lse[row(sampled_local)] = -std::numeric_limits<float>::infinity();
      CHECK(std::isinf(compare_sampled_rows(c, layout, rank, empty).lse_max_abs));
    }
  }
}

TEST_CASE("a sampled-row check of a window at 16M keys reads only the keys it attends",
          "[check-rows]") {
  // 16M tokens: every chunk generated would take minutes; the window's rows need a few
  BenchmarkCase c;
  c.spec.heads = 2, c.spec.kv_heads = 1, c.spec.head_dim = 16;
  c.spec.seq_len = std::int64_t{1} << 24, c.spec.mask = "window:1000:0";
  c.check_rows = 4;
  const SequenceLayout layout(LayoutKind::contiguous, c.spec.seq_len, 1024);
  const std::int64_t p = sampled_positions(c.spec.seq_len, c.check_rows)[1];
  const auto [rank, local] = layout.locate(p);
  // the rank's exact rows for the sampled position only; the others' O and LSE left empty
  AttentionResult got{std::vector<float>(2 * 16 * 16384, 0.0f),
                      std::vector<float>(2 * 16384, -std::numeric_limits<float>::infinity())};
  std::vector<std::int64_t> q_pos{p}, k_pos;
  for (std::int64_t k = p - 1000; k <= p; ++k) k_pos.push_back(k);
  std::vector<float> q(2 * 16), k(16 * k_pos.size()), v(k.size());
  generate_tensor(TensorRole::q, c.seed, c.spec, q_pos, q);
  generate_tensor(TensorRole::k, c.seed, c.spec, k_pos, k);
  generate_tensor(TensorRole::v, c.seed, c.spec, k_pos, v);
  const AttentionResult exact = reference_attention(c.spec, q, q_pos, k, v, k_pos);
  for (std::size_t h = 0; h < 2; ++h) {
    const auto row = h * 16384 + static_cast<std::size_t>(local);
    got.lse[row] = exact.lse[h];
    std::copy_n(exact.o.begin() + static_cast<std::ptrdiff_t>(h * 16), 16,
                got.o.begin() + static_cast<std::ptrdiff_t>(row * 16));
  }
  const ErrorSums sums = compare_sampled_rows(c, layout, rank, got);
  REQUIRE(sums.ref2 > 0);
  CHECK(rel_err(sums) < 1e-6);
  CHECK(sums.lse_max_abs < 1e-5);
}
