// --check-rows (ring/SampledRowCheck.hpp): the sampled positions, and the comparison of a rank's
// rows with the float64 reference against every key, which must see an error in a sampled row,
// an empty row where the reference has keys, and nothing in rows it does not sample. The
// reference of a few rows (core/RowReference.hpp) against the definition over every key.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/InputGenerator.hpp"
#include "core/PatternSpec.hpp"
#include "core/ReferenceAttention.hpp"
#include "core/RowReference.hpp"
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

// The definition in float64, as reference_attention computes it but without rounding to float:
// every row against every key of the sequence, a key weighing as many branches as allow it.
RowReference every_key_rows(const ProblemSpec& s, std::uint64_t seed, std::span<const float> q,
                            std::span<const std::int64_t> q_pos) {
  const auto p = make_pattern(s.mask, s.seq_len);
  const std::int64_t D = s.head_dim, H = s.heads, Hkv = s.effective_kv_heads(), S = s.seq_len;
  const auto rows = static_cast<std::int64_t>(q_pos.size());
  std::vector<std::int64_t> all(static_cast<std::size_t>(S));
  for (std::int64_t i = 0; i < S; ++i) all[static_cast<std::size_t>(i)] = i;
  std::vector<float> k(static_cast<std::size_t>(s.batch * Hkv * S * D)), v(k.size());
  generate_tensor(TensorRole::k, seed, s, all, k);
  generate_tensor(TensorRole::v, seed, s, all, v);
  RowReference ref{std::vector<double>(static_cast<std::size_t>(s.batch * H * rows * D), 0.0),
                   std::vector<double>(static_cast<std::size_t>(s.batch * H * rows))};
  for (std::int64_t b = 0; b < s.batch; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < rows; ++i) {
        const std::int64_t row = (b * H + h) * rows + i, kv = (b * Hkv + h / (H / Hkv)) * S;
        std::vector<double> score(static_cast<std::size_t>(S));
        double max_s = -std::numeric_limits<double>::infinity();
        for (std::int64_t j = 0; j < S; ++j) {
          double dot = 0.0;
          for (std::int64_t d = 0; d < D; ++d)
            dot += double(q[row * D + d]) * double(k[(kv + j) * D + d]);
          score[j] = dot * s.scale();
          if (p->multiplicity(q_pos[i], j, static_cast<int>(h)) > 0)
            max_s = std::max(max_s, score[j]);
        }
        double sum = 0.0;
        for (std::int64_t j = 0; j < S; ++j) {
          const int weight = p->multiplicity(q_pos[i], j, static_cast<int>(h));
          if (weight == 0) continue;
          const double e = weight * std::exp(score[j] - max_s);
          sum += e;
          for (std::int64_t d = 0; d < D; ++d)
            ref.o[row * D + d] += e * double(v[(kv + j) * D + d]);
        }
        for (std::int64_t d = 0; d < D && sum > 0; ++d) ref.o[row * D + d] /= sum;
        ref.lse[row] = sum > 0 ? max_s + std::log(sum) : -std::numeric_limits<double>::infinity();
      }
  return ref;
}

// The largest difference of two references (O and LSE); infinite when one row is empty and the
// other is not.
double max_difference(const RowReference& a, const RowReference& b) {
  double diff = 0.0;
  for (std::size_t r = 0; r < a.lse.size(); ++r) {
    if (std::isfinite(a.lse[r]) != std::isfinite(b.lse[r]))
      return std::numeric_limits<double>::infinity();
    if (std::isfinite(a.lse[r])) diff = std::max(diff, std::abs(a.lse[r] - b.lse[r]));
  }
  for (std::size_t i = 0; i < a.o.size(); ++i) diff = std::max(diff, std::abs(a.o[i] - b.o[i]));
  return diff;
}

// Sampled-row cases: dilated with several pairs (some rows and heads selected by none), causal
// variants, window, longformer, bigbird and blocksparse.
const std::vector<std::string> kRowMasks = {
    "none",
    "causal",
    "window:20:5",
    "window:7:0+causal",
    "longformer:4:6:3+causal",
    "bigbird:8:3:1:2",
    "bigbird:16:3:1:2:7+causal",
    "blocksparse:8:0.3:5",
    "dilated:16,64,256:1,4,16",
    "dilated:16,64,256:1,4,16+causal",
    "dilated:32,32,128:2,4,8+causal",
    "dilated:64:8",
};

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

TEST_CASE("the float64 reference of a few rows equals the definition over every key",
          "[check-rows]") {
  // reference_rows generates only the keys the rows attend, in windows; small windows (7 and 50
  // keys) cut every pattern's runs at many places
  bool some_row_empty = false;
  for (const std::string& mask : kRowMasks)
    for (const std::int64_t kv_heads : {1, 2, 4}) {
      ProblemSpec s;
      s.batch = 2, s.heads = 4, s.kv_heads = kv_heads, s.head_dim = 16;
      s.seq_len = 256, s.mask = mask;
      const std::uint64_t seed = 11;
      std::vector<std::int64_t> q_pos = sampled_positions(s.seq_len, 9);
      q_pos.insert(q_pos.end(), {0, 1, 64, 128, 255});  // segment and block edges
      std::sort(q_pos.begin(), q_pos.end());
      std::vector<float> q(static_cast<std::size_t>(s.batch * s.heads * s.head_dim) * q_pos.size());
      generate_tensor(TensorRole::q, seed, s, q_pos, q);
      const RowReference want = every_key_rows(s, seed, q, q_pos);
      for (const std::int64_t window : {0, 7, 50}) {
        CAPTURE(mask, kv_heads, window);
        const RowReference got = reference_rows(s, seed, q, q_pos, window);
        REQUIRE(got.lse.size() == want.lse.size());
        REQUIRE(got.o.size() == want.o.size());
        CHECK(max_difference(got, want) < 1e-12);
      }
      for (const double lse : want.lse) some_row_empty |= !std::isfinite(lse);
    }
  REQUIRE(some_row_empty);  // dilated rows no branch selects: empty in both
}

TEST_CASE("sampled rows of every pattern pass against reference_attention over all rows",
          "[check-rows]") {
  // the whole check: compare_sampled_rows on a result reference_attention computed over every key
  for (const std::string& mask : kRowMasks) {
    BenchmarkCase c;
    c.spec.batch = 2, c.spec.heads = 4, c.spec.kv_heads = 2, c.spec.head_dim = 16;
    c.spec.seq_len = 256, c.spec.mask = mask;
    c.check_rows = 16;
    const SequenceLayout layout(LayoutKind::zigzag, c.spec.seq_len, 2);
    for (int rank : {0, 1}) {
      CAPTURE(mask, rank);
      AttentionResult got = exact_rows(c, layout, rank);
      const ErrorSums exact = compare_sampled_rows(c, layout, rank, got);
      REQUIRE(exact.ref2 > 0);
      CHECK(rel_err(exact) < 1e-6);  // reference_attention rounds O and LSE to float
      CHECK(exact.lse_max_abs < 1e-5);
      for (float& o : got.o) o *= 1.001f;  // a 1e-3 error in every row is seen
      CHECK(rel_err(compare_sampled_rows(c, layout, rank, got)) > 5e-4);
    }
  }
}

TEST_CASE("sampled-row reference time: LongNet's dilated pattern at 1B tokens, 16 rows",
          "[.][timing]") {
  // the --check-rows 16 reference of the 1B LongNet case (8 heads, 1 kv head, head dim 128);
  // generating every key chunk took far beyond 180 s
  BenchmarkCase c;
  c.spec.batch = 1, c.spec.heads = 8, c.spec.kv_heads = 1, c.spec.head_dim = 128;
  c.spec.seq_len = std::int64_t{1} << 30, c.spec.dtype = DType::bf16;
  c.spec.mask =
      "dilated:2048,16384,131072,1048576,8388608,67108864,536870912,1073741824:"
      "1,4,16,64,256,1024,4096,8192";
  c.check_rows = 16;
  const std::string longnet = c.spec.mask;
  // one rank holding all 16 rows (rows of one segment share their keys), and a ring of 1024
  // members holding one each
  for (const int ranks : {1, 1024})
    for (const std::string mask : {longnet, longnet + "+causal"}) {
      const SequenceLayout layout(LayoutKind::contiguous, c.spec.seq_len, ranks);
      c.spec.mask = mask;
      double seconds = 0.0;
      ErrorSums sums;
      for (int rank = 0; rank < layout.ranks(); ++rank) {
        // each rank's sampled rows, read as zeros: only the reference's time counts
        const RowReader zeros = [&](std::span<const std::int64_t> local) {
          const auto n = static_cast<std::size_t>(c.spec.heads) * local.size();
          return AttentionResult{std::vector<float>(n * 128, 0.0f), std::vector<float>(n, 0.0f)};
        };
        const auto t0 = std::chrono::steady_clock::now();
        const ErrorSums part = compare_sampled_rows(c, layout, rank, zeros);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        sums.ref2 += part.ref2;
      }
      std::printf("%s, %d rank(s): 16 sampled rows' float64 reference in %.2f s\n", mask.c_str(),
                  ranks, seconds);
      CHECK(sums.ref2 > 0);
    }
}
