// The attention pattern library (core/patterns, core/PatternSpec.hpp): every pattern and its
// +causal on short sequences, judged against the definitions pair by pair; the spec grammar and
// its refusals; the random patterns' draws; exact counts at a million tokens.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/Error.hpp"
#include "core/PatternSpec.hpp"
#include "core/SequenceLayout.hpp"
#include "core/patterns/BigBirdPattern.hpp"
#include "core/patterns/BlockSparsePattern.hpp"
#include "core/patterns/SeededHash.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

constexpr int kHeads = 6;  // heads 0..5: every dilation offset of the dilated cases below

struct Case {
  std::string spec;
  std::int64_t seq_len;
};

// Several shapes of every pattern; S <= 32 for the exhaustive box test. Each also runs +causal.
std::vector<Case> cases() {
  const std::vector<Case> base = {
      {"none", 24},
      {"window:0:0", 24},
      {"window:2:3", 24},
      {"window:5:0", 24},
      {"window:30:30", 24},
      {"window:7:0", 32},
      {"window:4095:0", 48},
      {"window:10:3", 60},
      {"longformer:1:2:3", 24},
      {"longformer:0:0:1", 24},
      {"longformer:3:1:0", 24},
      {"longformer:2:2:24", 24},
      {"longformer:4:4:2", 32},
      {"longformer:6:2:5", 96},
      {"bigbird:2:3:1:2:5", 24},
      {"bigbird:3:1:0:3", 24},
      {"bigbird:4:5:1:6:1", 24},  // N above what the middle rows have left
      {"bigbird:24:1:0:0", 24},   // one block
      {"bigbird:1:3:2:4:9", 24},  // blocks of one token
      {"bigbird:4:3:1:2:11", 32},
      {"bigbird:6:3:1:2:3", 96},
      {"bigbird:5:7:2:3", 60},
      {"dilated:8,12:2,3", 24},
      {"dilated:24:4", 24},
      {"dilated:6,6:1,2", 24},
      {"dilated:4,8,24:1,2,4", 24},
      {"dilated:3:3", 24},
      {"dilated:8,16:1,2", 32},
      {"dilated:16,32:2,4", 32},
      {"dilated:12,24,48:1,2,4", 96},
      {"dilated:10,20,60:2,5,3", 60},
      {"blocksparse:4:0.3:5", 24},
      {"blocksparse:3:1", 24},
      {"blocksparse:2:0.05:2", 24},
      {"blocksparse:1:0.5:3", 24},
      {"blocksparse:8:0.5:1", 32},
      {"blocksparse:6:0.25:7", 96},
      {"blocksparse:5:0.4", 60},
  };
  std::vector<Case> all = {{"causal", 24}, {"causal", 60}};
  for (const Case& c : base) {
    all.push_back(c);
    all.push_back({c.spec + "+causal", c.seq_len});
  }
  return all;
}

// The definition, pair by pair: the base class's count_allowed through a qualified call.
std::int64_t brute_force(const AttentionPattern& p, const PositionRun& q, const PositionRun& k,
                         int head) {
  return p.AttentionPattern::count_allowed(q, k, head);
}

// A run of stride 1, 2 or 3 anywhere in the sequence, possibly empty.
PositionRun random_run(std::mt19937_64& rng, std::int64_t seq_len) {
  const std::int64_t stride = std::uniform_int_distribution<std::int64_t>(1, 3)(rng);
  const std::int64_t start = std::uniform_int_distribution<std::int64_t>(0, seq_len - 1)(rng);
  const std::int64_t most = (seq_len - 1 - start) / stride + 1;
  const std::int64_t length = std::uniform_int_distribution<std::int64_t>(0, most)(rng);
  return {0, start, length, stride};
}

// Allowed pairs of one head and branch over every box in O(1): a 2-D prefix sum of allows().
class AllowedTable {
 public:
  AllowedTable(const AttentionPattern& p, std::int64_t s, int head, int branch)
      : s_(s), sums_(static_cast<std::size_t>((s + 1) * (s + 1))) {
    for (std::int64_t q = 0; q < s; ++q)
      for (std::int64_t k = 0; k < s; ++k)
        at(q + 1, k + 1) =
            at(q, k + 1) + at(q + 1, k) - at(q, k) + (p.allows(q, k, head, branch) ? 1 : 0);
  }
  std::int64_t in_box(std::int64_t q0, std::int64_t q1, std::int64_t k0, std::int64_t k1) const {
    return sum(q1 + 1, k1 + 1) - sum(q0, k1 + 1) - sum(q1 + 1, k0) + sum(q0, k0);
  }

 private:
  std::int64_t& at(std::int64_t i, std::int64_t j) { return sums_[i * (s_ + 1) + j]; }
  std::int64_t sum(std::int64_t i, std::int64_t j) const { return sums_[i * (s_ + 1) + j]; }
  std::int64_t s_;
  std::vector<std::int64_t> sums_;
};

Coverage true_coverage(std::int64_t allowed, std::int64_t area) {
  if (allowed == 0) return Coverage::none;
  return allowed == area ? Coverage::full : Coverage::partial;
}

// Every allows() answer of two patterns, every head and branch, and their block maps.
bool same_pattern(const AttentionPattern& a, const AttentionPattern& b, std::int64_t s) {
  if (a.branches() != b.branches() || a.head_period() != b.head_period()) return false;
  for (int h = 0; h < kHeads; ++h)
    for (int br = 0; br < a.branches(); ++br)
      for (std::int64_t q = 0; q < s; ++q)
        for (std::int64_t k = 0; k < s; ++k)
          if (a.allows(q, k, h, br) != b.allows(q, k, h, br)) return false;
  return a.block_map().kept == b.block_map().kept;
}

}  // namespace

TEST_CASE("pattern counts equal the pair-by-pair definition for runs of strides 1, 2, 3",
          "[pattern]") {
  std::mt19937_64 rng(13);
  std::int64_t partial_counts = 0;  // the cases must include counts that are neither 0 nor n·m
  for (const Case& c : cases()) {
    const auto p = make_pattern(c.spec, c.seq_len);
    const std::int64_t s = c.seq_len;
    for (int h = 0; h < kHeads; ++h) {
      std::vector<std::pair<PositionRun, PositionRun>> runs = {
          {{0, 0, s, 1}, {0, 0, s, 1}},                  // the whole sequence
          {{0, s / 2, s - s / 2, 1}, {0, 0, s / 2, 1}},  // late queries, early keys
          {{0, 1, (s - 1) / 3 + 1, 3}, {0, 0, s / 2, 2}},
          {{0, s - 1, 1, 1}, {0, 0, 1, 7}},  // single tokens (any stride)
      };
      for (int i = 0; i < 120; ++i) runs.push_back({random_run(rng, s), random_run(rng, s)});
      for (const auto& [q, k] : runs) {
        CAPTURE(c.spec, s, h, q.global_start, q.length, q.stride, k.global_start, k.length,
                k.stride);
        const std::int64_t expected = brute_force(*p, q, k, h);
        REQUIRE(p->count_allowed(q, k, h) == expected);
        partial_counts += expected > 0 && expected < q.length * k.length;
      }
    }
  }
  REQUIRE(partial_counts > 1000);
}

TEST_CASE("pattern coverage is exact on every box: none, full and partial as the pairs say",
          "[pattern]") {
  // Exact, not merely never wrong: kernels skip none tiles and the per-pair test on full ones,
  // so a conservative partial would cost speed. Every box for S <= 32, random boxes beyond.
  std::mt19937_64 rng(7);
  std::int64_t seen[3] = {0, 0, 0};
  for (const Case& c : cases()) {
    const auto p = make_pattern(c.spec, c.seq_len);
    const std::int64_t s = c.seq_len;
    for (int h = 0; h < kHeads; ++h) {
      // head-uniform patterns: heads 0 and 5 (the same answers; the dilated cases take all)
      if (p->head_period() == 1 && h != 0 && h != kHeads - 1) continue;
      for (int b = 0; b < p->branches(); ++b) {
        const AllowedTable table(*p, s, h, b);
        const auto check = [&](std::int64_t q0, std::int64_t q1, std::int64_t k0, std::int64_t k1) {
          const Coverage expected =
              true_coverage(table.in_box(q0, q1, k0, k1), (q1 - q0 + 1) * (k1 - k0 + 1));
          const Coverage got = p->coverage(q0, q1, k0, k1, h, b);
          ++seen[static_cast<int>(expected)];
          if (got != expected) {
            CAPTURE(c.spec, h, b, q0, q1, k0, k1, static_cast<int>(got),
                    static_cast<int>(expected));
            REQUIRE(got == expected);
          }
        };
        if (s <= 32) {
          for (std::int64_t q0 = 0; q0 < s; ++q0)
            for (std::int64_t q1 = q0; q1 < s; ++q1)
              for (std::int64_t k0 = 0; k0 < s; ++k0)
                for (std::int64_t k1 = k0; k1 < s; ++k1) check(q0, q1, k0, k1);
        } else {
          std::uniform_int_distribution<std::int64_t> pos(0, s - 1);
          for (int i = 0; i < 20000; ++i) {
            const std::int64_t q[2] = {pos(rng), pos(rng)}, k[2] = {pos(rng), pos(rng)};
            check(std::min(q[0], q[1]), std::max(q[0], q[1]), std::min(k[0], k[1]),
                  std::max(k[0], k[1]));
          }
        }
      }
    }
  }
  for (const std::int64_t n : seen) REQUIRE(n > 10000);
}

namespace {
// How allowed_keys writes a row's keys: non-empty runs, ascending and disjoint, local_start
// counting the keys of the runs before.
bool well_formed(const std::vector<PositionRun>& runs) {
  std::int64_t keys = 0, last = -1;
  for (const PositionRun& r : runs) {
    if (r.length < 1 || r.stride < 1 || r.local_start != keys || r.first() <= last) return false;
    keys += r.length, last = r.last();
  }
  return true;
}
}  // namespace

TEST_CASE("allowed keys of a query are exactly the keys allows() admits, in every pattern",
          "[pattern][allowed-keys]") {
  std::int64_t rows_with_keys = 0, strided_rows = 0;
  for (const Case& c : cases()) {
    const auto p = make_pattern(c.spec, c.seq_len);
    for (int h = 0; h < kHeads; ++h)
      for (int b = 0; b < p->branches(); ++b)
        for (std::int64_t q = 0; q < c.seq_len; ++q) {
          std::vector<std::int64_t> expected;
          for (std::int64_t k = 0; k < c.seq_len; ++k)
            if (p->allows(q, k, h, b)) expected.push_back(k);
          const std::vector<PositionRun> runs = p->allowed_keys(q, h, b, c.seq_len);
          CAPTURE(c.spec, h, b, q);
          REQUIRE(well_formed(runs));
          REQUIRE(expand_positions(runs) == expected);
          // the generic bisection as well, where a closed form overrides it (dilated, window)
          const std::vector<PositionRun> bisected =
              p->AttentionPattern::allowed_keys(q, h, b, c.seq_len);
          REQUIRE(well_formed(bisected));
          REQUIRE(expand_positions(bisected) == expected);
          rows_with_keys += !expected.empty();
          strided_rows += runs.size() == 1 && runs[0].stride > 1;
        }
  }
  REQUIRE(rows_with_keys > 10000);
  REQUIRE(strided_rows > 1000);
}

TEST_CASE("allowed keys at a billion tokens: closed forms in O(1), as many keys as counted",
          "[pattern][allowed-keys]") {
  // LongNet at 1B: a rate-8192 row of the whole-sequence segment attends 131072 keys
  constexpr std::int64_t s = std::int64_t{1} << 30;
  const std::string longnet =
      "dilated:2048,16384,131072,1048576,8388608,67108864,536870912,1073741824:"
      "1,4,16,64,256,1024,4096,8192";
  const PositionRun all{0, 0, s, 1};
  for (const std::string& spec : {longnet, longnet + "+causal"}) {
    const auto p = make_pattern(spec, s);
    for (const std::int64_t q : {std::int64_t{0}, s / 2, s / 2 + 4, s - 8192, s - 1})
      for (int h : {0, 4, 7}) {
        std::int64_t keys = 0;
        for (int b = 0; b < p->branches(); ++b)
          for (const PositionRun& r : p->allowed_keys(q, h, b, s)) keys += r.length;
        CAPTURE(spec, q, h);
        REQUIRE(keys == p->count_allowed({0, q, 1, 1}, all, h));
      }
    const auto top = p->allowed_keys(s / 2, 0, 7, s);
    REQUIRE(top.size() == 1);
    CHECK(top[0].length == (spec == longnet ? s / 8192 : s / 2 / 8192 + 1));
    CHECK(top[0].stride == 8192);
  }
  // the bisection at a million tokens: runs as counted, for the patterns without a closed form
  constexpr std::int64_t m = 1 << 20;
  const PositionRun keys{0, 0, m, 1};
  for (const std::string& spec :
       {"causal", "none", "longformer:128:128:256+causal", "bigbird:64:3:1:3:5",
        "blocksparse:64:0.01:3+causal", "window:4095:0"}) {
    const auto p = make_pattern(spec, m);
    for (const std::int64_t q : {std::int64_t{0}, std::int64_t{100}, m / 3, m - 1}) {
      std::int64_t n = 0;
      for (const PositionRun& r : p->allowed_keys(q, 0, 0, m)) n += r.length;
      CAPTURE(spec, q);
      REQUIRE(n == p->count_allowed({0, q, 1, 1}, keys, 0));
    }
  }
}

TEST_CASE("pattern totals over layouts: all heads and any_allowed agree with the definition",
          "[pattern]") {
  bool some_step_empty = false, some_step_busy = false;
  for (const Case& c : cases()) {
    const auto p = make_pattern(c.spec, c.seq_len);
    for (int ranks = 1; ranks <= 4; ++ranks)
      for (const LayoutKind kind :
           {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
        if (c.seq_len % SequenceLayout::required_multiple(kind, ranks) != 0) continue;
        const SequenceLayout layout(kind, c.seq_len, ranks);
        for (int r = 0; r < ranks; ++r)
          for (int r2 = 0; r2 < ranks; ++r2) {
            const auto& q_runs = layout.runs(r);
            const auto& k_runs = layout.runs(r2);
            for (const std::int64_t heads : {std::int64_t{kHeads}, std::int64_t{5}}) {
              std::int64_t expected = 0;
              for (int h = 0; h < heads; ++h)
                for (const auto& q : q_runs)
                  for (const auto& k : k_runs) expected += brute_force(*p, q, k, h);
              CAPTURE(c.spec, to_string(kind), ranks, r, r2, heads);
              REQUIRE(count_allowed_all_heads(*p, q_runs, k_runs, heads) == expected);
              REQUIRE(any_allowed(*p, q_runs, k_runs, heads) == (expected > 0));
              some_step_empty = some_step_empty || expected == 0;
              some_step_busy = some_step_busy || expected > 0;
            }
          }
      }
  }
  REQUIRE(some_step_empty);
  REQUIRE(some_step_busy);
}

TEST_CASE("pattern specs round-trip: spec() parses again to the identical pattern", "[pattern]") {
  for (const Case& c : cases()) {
    const auto p = make_pattern(c.spec, c.seq_len);
    const auto again = make_pattern(p->spec(), c.seq_len);
    CAPTURE(c.spec, p->spec());
    REQUIRE(again->spec() == p->spec());
    REQUIRE(same_pattern(*p, *again, c.seq_len));
  }
  // canonical forms: plain integers, the seed always shown, the shortest density, none+causal
  // is causal
  const std::pair<std::string, std::string> canonical[] = {
      {"window:04:0", "window:4:0"},
      {"window:4:0+causal", "window:4:0+causal"},
      {"none+causal", "causal"},
      {"longformer:1:002:3", "longformer:1:2:3"},
      {"bigbird:4:3:1:2", "bigbird:4:3:1:2:0"},
      {"bigbird:4:3:1:2:0077+causal", "bigbird:4:3:1:2:77+causal"},
      {"dilated:8,016:1,2", "dilated:8,16:1,2"},
      {"blocksparse:4:0.50", "blocksparse:4:0.5:0"},
      {"blocksparse:4:1.0:3", "blocksparse:4:1:3"},
      {"blocksparse:4:1e-1:3", "blocksparse:4:0.1:3"},
  };
  for (const auto& [given, expected] : canonical)
    REQUIRE(make_pattern(given, 48)->spec() == expected);
  REQUIRE(make_pattern("none+causal", 48)->dense_kind() == MaskKind::causal);
  REQUIRE(make_pattern("none", 48)->dense_kind() == MaskKind::none);
  REQUIRE(!make_pattern("window:47:47", 48)->dense_kind());
  // the default seed is 0: omitting it and writing 0 is one pattern
  REQUIRE(same_pattern(*make_pattern("bigbird:2:1:0:3", 48), *make_pattern("bigbird:2:1:0:3:0", 48),
                       48));
  REQUIRE(!same_pattern(*make_pattern("bigbird:2:1:0:3", 48),
                        *make_pattern("bigbird:2:1:0:3:1", 48), 48));
}

TEST_CASE("malformed pattern specs are refused naming the part and what is allowed", "[pattern]") {
  struct Refusal {
    std::string spec;
    std::string message;  // a part of what ConfigError::allowed() must say
    std::int64_t seq_len = 48;
  };
  const Refusal refusals[] = {
      {"", "not the pattern ''"},
      {"windows:1:2", "not the pattern 'windows'"},
      {"Window:1:2", "not the pattern 'Window'"},
      {"none:1", "none (0 ':'-separated fields after 'none'), not 1"},
      {"causal:0", "causal (0 ':'-separated fields after 'causal'), not 1"},
      {"window:4", "window:L:R (2 ':'-separated fields after 'window'), not 1"},
      {"window:4:0:1", "window:L:R (2 ':'-separated fields after 'window'), not 3"},
      {"window:4:0:", "not 3"},
      {"window", "not 0"},
      {"window:x:0", "with L an integer from 0 to 2147483647, not 'x'"},
      {"window:4:-1", "with R an integer from 0 to 2147483647, not '-1'"},
      {"window:4:+1", "optionally followed by +causal, not '+1' after it"},
      {"window:4: 1", "not ' 1'"},
      {"window:4:1.5", "not '1.5'"},
      {"window:4:", "with R an integer from 0 to 2147483647, not ''"},
      {"window:4:2147483648", "not '2147483648'"},
      {"window:4:99999999999999999999", "not '99999999999999999999'"},
      {"window:4:4K", "not '4K'"},
      {"longformer:1:1", "longformer:L:R:G (3 ':'-separated fields"},
      {"longformer:1:1:49", "with G an integer from 0 to 48, not '49'"},
      {"longformer:1:y:2", "with R an integer"},
      {"bigbird:4:3:1",
       "bigbird:B:W:G:N[:SEED] (4 or 5 ':'-separated fields after 'bigbird'), not 3"},
      {"bigbird:4:3:1:2:0:1", "not 6"},
      {"bigbird:5:3:1:2", "with B a divisor of the sequence length 48, not '5'"},
      {"bigbird:0:3:1:2", "with B an integer from 1 to"},
      {"bigbird:4:4:1:2", "with W odd"},
      {"bigbird:4:0:1:2", "with W an integer from 1 to"},
      {"bigbird:4:3:13:2", "with G an integer from 0 to 12, not '13'"},
      {"bigbird:4:3:1:13", "with N an integer from 0 to 12, not '13'"},
      {"bigbird:1:3:1:65", "with N an integer from 0 to 64, not '65'", 128},
      {"bigbird:4:3:1:2:-1", "with SEED an integer from 0 to 9223372036854775807, not '-1'"},
      {"bigbird:4:3:1:2:9223372036854775808", "with SEED an integer"},
      {"dilated:16,24:1",
       "one dilation rate per segment length, not 2 segment lengths and 1 dilation rates"},
      {"dilated:16:1,2", "not 1 segment lengths and 2 dilation rates"},
      {"dilated:16", "dilated:W1,W2,...:R1,R2,... (2 ':'-separated fields"},
      {"dilated:16,32:1,2", "with W2 a divisor of the sequence length 48, not '32'"},
      {"dilated:16,24:1,5", "with R2 a divisor of W2 = 24, not '5'"},
      {"dilated:16,24:1,0", "with R2 an integer from 1 to"},
      {"dilated:16,,24:1,2,3", "with W2 an integer from 1 to 2147483647, not ''"},
      {"dilated:16,24:1,2,", "not 2 segment lengths and 3 dilation rates"},
      {"dilated:0:1", "with W1 an integer from 1 to"},
      {"blocksparse:4", "blocksparse:B:DENSITY[:SEED] (2 or 3 ':'-separated fields"},
      {"blocksparse:5:0.5", "with B a divisor of the sequence length 48, not '5'"},
      {"blocksparse:4:0", "with DENSITY a number in (0, 1], not '0'"},
      {"blocksparse:4:1.01", "with DENSITY a number in (0, 1], not '1.01'"},
      {"blocksparse:4:-0.5", "not '-0.5'"},
      {"blocksparse:4:nan", "not 'nan'"},
      {"blocksparse:4:inf", "not 'inf'"},
      {"blocksparse:4:0.5x", "not '0.5x'"},
      {"blocksparse:4:0x1p-1", "not '0x1p-1'"},
      {"blocksparse:4:", "with DENSITY a number in (0, 1], not ''"},
      {"blocksparse:4:0.5:s", "with SEED an integer"},
      {"window:4:0+causal+causal", "+causal at most once, not 2 times"},
      {"window:4:0+casual", "optionally followed by +causal, not '+casual' after it"},
      {"window:4:0+", "not '+' after it"},
      {"window:4:0+causalx", "not '+causalx' after it"},
      {"causal+causal", "causal alone (it is causal already), not causal+causal"},
      {"+causal", "not the pattern ''"},
      {"dilated:16,24:1,2 ", "with R2 an integer from 1 to 2147483647, not '2 '"},
  };
  for (const auto& r : refusals) {
    CAPTURE(r.spec);
    bool refused = false;
    try {
      make_pattern(r.spec, r.seq_len);
    } catch (const ConfigError& e) {
      refused = true;
      REQUIRE(e.key() == "mask");
      REQUIRE(e.value() == r.spec);
      CAPTURE(e.allowed());
      REQUIRE(e.allowed().find(r.message) != std::string::npos);
    }
    REQUIRE(refused);
  }
  // the unknown-name message lists every form
  try {
    make_pattern("sparse", 48);
    FAIL("sparse accepted");
  } catch (const ConfigError& e) {
    for (const char* form :
         {"none", "causal", "window:L:R", "longformer:L:R:G", "bigbird:B:W:G:N[:SEED]",
          "dilated:W1,W2,...:R1,R2,...", "blocksparse:B:DENSITY[:SEED]", "+causal"})
      REQUIRE(e.allowed().find(form) != std::string::npos);
  }
  // more blocks than blocksparse's bitmap takes (65536 per side)
  try {
    make_pattern("blocksparse:2:0.1", 65537 * 2);
    FAIL("65537 blocks per side accepted");
  } catch (const ConfigError& e) {
    REQUIRE(e.allowed().find("with B at least seq-len / 65536") != std::string::npos);
    REQUIRE(e.allowed().find("not '2' (65537 blocks per side)") != std::string::npos);
  }
  // the values just inside every limit are accepted
  for (const char* spec : {"window:0:2147483647", "longformer:0:0:48", "bigbird:4:1:12:12",
                           "bigbird:4:3:1:2:9223372036854775807", "dilated:48:48",
                           "blocksparse:48:1", "blocksparse:1:4.9e-324"})
    REQUIRE_NOTHROW(make_pattern(spec, 48));
}

TEST_CASE("mask lists split at white space only: commas belong to dilated specs", "[pattern]") {
  REQUIRE(split_mask_list("none  causal\twindow:4:0\n dilated:8,16:1,2+causal ") ==
          std::vector<std::string>{"none", "causal", "window:4:0", "dilated:8,16:1,2+causal"});
  REQUIRE(split_mask_list("").empty());
  REQUIRE(split_mask_list(" \t ").empty());
  REQUIRE(split_mask_list("a,b") == std::vector<std::string>{"a,b"});
}

TEST_CASE("dilated branches count with multiplicity: a pair in two branches counts twice",
          "[pattern]") {
  const auto p = make_pattern("dilated:8,16:1,2", 32);
  REQUIRE(p->branches() == 2);
  REQUIRE(p->head_period() == 2);
  REQUIRE(p->multiplicity(2, 4, 0) == 2);   // same 8-segment, both even
  REQUIRE(p->multiplicity(2, 3, 0) == 1);   // 3 is odd: only the W = 8 branch
  REQUIRE(p->multiplicity(2, 10, 0) == 1);  // other 8-segment, same 16-segment, both even
  REQUIRE(p->multiplicity(3, 5, 0) == 1);
  REQUIRE(p->multiplicity(3, 5, 1) == 2);   // head 1 selects the odd positions
  REQUIRE(p->multiplicity(2, 17, 0) == 0);  // different segments in both branches
  REQUIRE(p->count_allowed({0, 2, 1, 1}, {0, 4, 1, 1}, 0) == 2);
  // head 0: 32 queries x 8 keys in branch 0, 16 even queries x 8 even keys in branch 1
  const PositionRun all{0, 0, 32, 1};
  REQUIRE(p->count_allowed(all, all, 0) == 32 * 8 + 16 * 8);
  // a query no branch selects attends nothing: dilation 2 alone, head 1, query 2
  REQUIRE(make_pattern("dilated:16:2", 32)->count_allowed({0, 2, 1, 1}, all, 1) == 0);
}

TEST_CASE("bigbird draws min(N, remaining) random blocks per row, none already allowed",
          "[pattern]") {
  struct Draw {
    std::string spec;
    std::int64_t seq_len;
  };
  for (const Draw& d : {Draw{"bigbird:4:15:1:3", 48}, Draw{"bigbird:2:3:1:2:5", 64},
                        Draw{"bigbird:1:5:3:64:4", 100}, Draw{"bigbird:1:1:0:64:4", 64},
                        Draw{"bigbird:2:9:0:5:8+causal", 64}}) {
    CAPTURE(d.spec);
    const auto p = make_pattern(d.spec, d.seq_len);
    const auto again = make_pattern(d.spec, d.seq_len);
    const auto& bb = dynamic_cast<const BigBirdPattern&>(*p);
    const auto& bb2 = dynamic_cast<const BigBirdPattern&>(*again);
    const BigBirdShape& shape = bb.shape();
    const std::int64_t half = (shape.window - 1) / 2;
    std::int64_t short_rows = 0;
    for (std::int64_t i = 0; i < bb.blocks(); ++i) {
      CAPTURE(i);
      const auto already = [&](std::int64_t j) {
        return i < shape.globals || j < shape.globals || std::abs(i - j) <= half;
      };
      std::int64_t remaining = 0;
      for (std::int64_t j = 0; j < bb.blocks(); ++j) remaining += already(j) ? 0 : 1;
      const auto drawn = bb.random_blocks(i);
      REQUIRE(static_cast<std::int64_t>(drawn.size()) == std::min(shape.randoms, remaining));
      short_rows += remaining < shape.randoms;
      for (std::size_t n = 0; n < drawn.size(); ++n) {
        REQUIRE((drawn[n] >= 0 && drawn[n] < bb.blocks()));
        REQUIRE(!already(drawn[n]));
        if (n > 0) REQUIRE(drawn[n - 1] < drawn[n]);  // ascending, so distinct
        REQUIRE(bb.kept(i, drawn[n]));
      }
      const auto drawn2 = bb2.random_blocks(i);
      REQUIRE(std::vector<std::int32_t>(drawn.begin(), drawn.end()) ==
              std::vector<std::int32_t>(drawn2.begin(), drawn2.end()));
      // the block map holds exactly the window, the globals and the draw
      const BlockMap map = bb.block_map();
      for (std::int64_t j = 0; j < bb.blocks(); ++j)
        REQUIRE(map.kept[i * bb.blocks() + j] ==
                (already(j) || std::find(drawn.begin(), drawn.end(), j) != drawn.end()));
    }
    if (d.spec == "bigbird:4:15:1:3") REQUIRE(short_rows > 0);  // "if fewer remain, all of them"
  }
  // the seed changes the draw
  const auto a = make_pattern("bigbird:2:1:0:3:1", 64), b = make_pattern("bigbird:2:1:0:3:2", 64);
  REQUIRE(a->block_map().kept != b->block_map().kept);
}

TEST_CASE("bigbird's draw is uniform among the blocks a row has left", "[pattern]") {
  // One random block per row among the 4095 others: its index among the candidates, in 8 bins,
  // against a chi-square bound (7 degrees of freedom, p = 0.001). Deterministic for the seed.
  const auto p = make_pattern("bigbird:1:1:0:1:21", 4096);
  const auto& bb = dynamic_cast<const BigBirdPattern&>(*p);
  std::vector<double> bins(8, 0);
  for (std::int64_t i = 0; i < 4096; ++i) {
    const std::int64_t j = bb.random_blocks(i)[0];
    REQUIRE(j != i);
    const std::int64_t index = j < i ? j : j - 1;
    bins[static_cast<std::size_t>(index * 8 / 4095)] += 1;
  }
  double chi2 = 0;
  for (const double n : bins) chi2 += (n - 512) * (n - 512) / 512;
  REQUIRE(chi2 < 24.32);
}

TEST_CASE("blocksparse keeps about DENSITY of the blocks by the seeded hash, the diagonal always",
          "[pattern]") {
  for (const double density : {0.1, 0.5}) {
    const std::string spec = "blocksparse:4:" + std::to_string(density) + ":3";
    const auto p = make_pattern(spec, 4096);
    const auto& bs = dynamic_cast<const BlockSparsePattern&>(*p);
    std::int64_t off_diagonal = 0;
    for (std::int64_t i = 0; i < bs.blocks(); ++i)
      for (std::int64_t j = 0; j < bs.blocks(); ++j) {
        const bool rule = i == j || unit_interval(seeded_hash(3, i, j)) < density;
        if (bs.kept(i, j) != rule) REQUIRE(bs.kept(i, j) == rule);  // the documented rule
        off_diagonal += i != j && bs.kept(i, j);
      }
    const double fraction = double(off_diagonal) / double(bs.blocks() * (bs.blocks() - 1));
    CAPTURE(spec, fraction);
    REQUIRE(std::abs(fraction - density) < 0.005);  // 10 standard deviations at 1M blocks
    REQUIRE(p->block_map().kept == make_pattern(spec, 4096)->block_map().kept);
    const std::string other = "blocksparse:4:" + std::to_string(density) + ":4";
    REQUIRE(p->block_map().kept != make_pattern(other, 4096)->block_map().kept);
  }
  const BlockMap all = make_pattern("blocksparse:4:1", 64)->block_map();
  REQUIRE((all.block == 4 && all.blocks == 16));
  REQUIRE(std::count(all.kept.begin(), all.kept.end(), 1) == 256);
  // the draw of a block does not depend on the sequence length
  const auto small = make_pattern("blocksparse:8:0.3:9", 512),
             large = make_pattern("blocksparse:8:0.3:9", 1024);
  for (std::int64_t q = 0; q < 512; q += 3)
    for (std::int64_t k = 0; k < 512; k += 5)
      REQUIRE(small->allows(q, k, 0, 0) == large->allows(q, k, 0, 0));
}

TEST_CASE("pattern counts at a million tokens: closed forms, and every layout adds up",
          "[pattern]") {
  constexpr std::int64_t s = 1 << 20;
  const PositionRun all{0, 0, s, 1};
  // a causal window of 4096 keys: the first 4096 queries see q + 1 keys, the rest 4096
  REQUIRE(make_pattern("window:4095:0", s)->count_allowed(all, all, 0) ==
          4096 * 4097 / 2 + (s - 4096) * 4096);
  // LongNet's geometric series: branch (W, R) selects S / R queries with W / R keys each
  std::string segments, rates;
  std::int64_t dense = 0, causal = 0;
  for (std::int64_t w = 2048, r = 1; w <= s; w *= 2, r *= 2) {
    segments += (segments.empty() ? "" : ",") + std::to_string(w);
    rates += (rates.empty() ? "" : ",") + std::to_string(r);
    dense += (s / r) * (w / r);
    causal += (s / w) * (w / r) * (w / r + 1) / 2;
  }
  const std::string dilated = "dilated:" + segments + ":" + rates;
  for (int h : {0, 1, 7, 511}) {
    REQUIRE(make_pattern(dilated, s)->count_allowed(all, all, h) == dense);
    REQUIRE(make_pattern(dilated + "+causal", s)->count_allowed(all, all, h) == causal);
  }
  // longformer, pair by pair per query in O(S)
  std::int64_t longformer = 256 * s;  // global queries see every key
  for (std::int64_t q = 256; q < s; ++q)
    longformer += 256 + std::min(q + 128, s - 1) - std::max(q - 128, std::int64_t{256}) + 1;
  REQUIRE(make_pattern("longformer:128:128:256", s)->count_allowed(all, all, 0) == longformer);
  // Every layout's (rank, rank) counts add up to the whole; block patterns from their block map.
  for (const std::string& spec : std::vector<std::string>{
           "window:4095:0", "longformer:256:256:64+causal", "bigbird:64:3:1:3:5",
           "bigbird:64:3:1:3:5+causal", "blocksparse:64:0.1", "blocksparse:64:0.1+causal",
           "dilated:2048,4096,8192,16384,32768,65536:1,2,4,8,16,32+causal"}) {
    CAPTURE(spec);
    const std::int64_t n = 1 << 16;  // 1024 blocks of 64: a block map small enough to add up
    const auto p = make_pattern(spec, n);
    const PositionRun whole{0, 0, n, 1};
    const std::int64_t total = p->count_allowed(whole, whole, 1);
    const BlockMap map = p->block_map();
    if (map.blocks > 0) {
      std::int64_t from_map = 0;
      const bool causal_spec = spec.ends_with("+causal");
      for (std::int64_t i = 0; i < map.blocks; ++i)
        for (std::int64_t j = 0; j < map.blocks; ++j)
          if (map.kept[i * map.blocks + j] && (!causal_spec || j <= i))
            from_map += causal_spec && i == j ? 64 * 65 / 2 : 64 * 64;
      REQUIRE(total == from_map);
    }
    for (const LayoutKind kind :
         {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
      const SequenceLayout layout(kind, n, 4);
      std::int64_t sum = 0;
      for (int r = 0; r < 4; ++r)
        for (int r2 = 0; r2 < 4; ++r2) sum += count_allowed(*p, layout.runs(r), layout.runs(r2), 1);
      REQUIRE(sum == total);
    }
  }
}

TEST_CASE("pattern count times at 1M tokens (benchmark, not a test)", "[.][pattern-timing]") {
  using clock = std::chrono::steady_clock;
  const auto ms = [](clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  constexpr std::int64_t s = 1 << 20;
  std::string segments, rates;
  for (std::int64_t w = 2048, r = 1; w <= s; w *= 2, r *= 2) {
    segments += (segments.empty() ? "" : ",") + std::to_string(w);
    rates += (rates.empty() ? "" : ",") + std::to_string(r);
  }
  const SequenceLayout striped(LayoutKind::striped, s, 4);
  const PositionRun all{0, 0, s, 1};
  std::printf("%-40s %10s %12s %14s\n", "spec at S = 1M", "make ms", "whole ms", "striped-4 ms");
  for (const std::string& base :
       std::vector<std::string>{"window:4095:0", "longformer:256:256:64", "dilated:16384:4",
                                "dilated:" + segments + ":" + rates, "bigbird:64:3:1:3",
                                "bigbird:128:33:1:3", "blocksparse:64:0.1", "blocksparse:128:0.1"})
    for (const std::string& spec : {base, base + "+causal"}) {
      const auto t0 = clock::now();
      const auto p = make_pattern(spec, s);
      const auto t1 = clock::now();
      std::int64_t n = p->count_allowed(all, all, 0);
      const auto t2 = clock::now();
      std::int64_t m = 0;
      for (int r = 0; r < 4; ++r)
        for (int r2 = 0; r2 < 4; ++r2) m += count_allowed(*p, striped.runs(r), striped.runs(r2), 0);
      const auto t3 = clock::now();
      REQUIRE(n == m);
      std::printf("%-40.40s %10.2f %12.3f %14.3f   density %.4f\n", spec.c_str(), ms(t1 - t0),
                  ms(t2 - t1), ms(t3 - t2), double(n) / double(s) / double(s));
    }
}
