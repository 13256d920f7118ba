// What of a block travels on (ring/BlockTravel): every row a later holder of the block reads,
// judged pair by pair, is among the rows passed on; the counts a schedule prices its bytes with
// agree with the rows; patterns that read whole blocks pass them on whole. Host row moves
// round-trip.
#include <set>
#include <string>
#include <vector>

#include "core/PatternSpec.hpp"
#include "core/SequenceLayout.hpp"
#include "distributed/RowExchange.hpp"
#include "ring/BlockTravel.hpp"
#include "ring/RingSchedule.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

std::set<std::int64_t> rows_of(const std::vector<RowSelection>& rows) {
  std::set<std::int64_t> out;
  for (const RowSelection& r : rows)
    for (std::int64_t j = 0; j < r.count; ++j) out.insert(r.first + j * r.stride);
  return out;
}

// Local rows of `source`'s block that some query of `holders` attends in some head and branch.
std::set<std::int64_t> rows_read(const SequenceLayout& layout, const AttentionPattern& pattern,
                                 int heads, int source, const std::vector<int>& holders) {
  std::set<std::int64_t> read;
  const auto keys = layout.positions(source);
  for (int d : holders)
    for (std::int64_t q : layout.positions(d))
      for (std::size_t k = 0; k < keys.size(); ++k)
        for (int h = 0; h < heads; ++h)
          for (int b = 0; b < pattern.branches(); ++b)
            if (pattern.allows(q, keys[k], h, b)) read.insert(static_cast<std::int64_t>(k));
  return read;
}

}  // namespace

TEST_CASE("a block passes on every row its later holders read", "[travel]") {
  constexpr std::int64_t S = 192;
  constexpr int heads = 4;
  for (const std::string spec :
       {"dilated:24,192:8,16", "dilated:48,96,192:4,8,32+causal", "dilated:64,192:16,64"})
    for (auto kind : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped})
      for (int P : {2, 3, 4}) {
        INFO(spec << " " << to_string(kind) << " P=" << P);
        const SequenceLayout layout(kind, S, P);
        const auto pattern = make_pattern(spec, S);
        REQUIRE(pattern->reads_row_subsets());
        const int last = ring_last_needed_step(layout, *pattern, heads);
        for (int holder = 0; holder < P; ++holder) {
          const auto counts = rows_travelling_counts(layout, *pattern, heads, holder, last);
          for (int t = 0; t <= last; ++t) {
            const int source = (holder - t + P) % P;
            std::vector<int> later;
            for (int k = 1; k <= last - t; ++k) later.push_back((holder + k) % P);
            const auto travel = rows_travelling(layout, *pattern, heads, holder, t, last);
            const auto needed = rows_read(layout, *pattern, heads, source, later);
            const std::int64_t n = layout.local_len();
            if (travel) {
              const auto sent = rows_of(*travel);
              for (std::int64_t k : needed) REQUIRE(sent.count(k) == 1);
              REQUIRE(static_cast<std::int64_t>(sent.size()) < n);
              REQUIRE(counts[t] == row_count(*travel));
            } else {
              REQUIRE(counts[t] == n);
            }
            if (later.empty()) REQUIRE((travel && travel->empty()));
          }
        }
      }
}

TEST_CASE("a far step of a LongNet ring passes on a few rows of its block", "[travel]") {
  // contiguous, 4 ranks of 48 tokens: past the 24-token segments only the whole-sequence pair of
  // rate 16 reaches; its 4 heads read offsets 0..3 of every 16 rows: 12 of 48
  const SequenceLayout layout(LayoutKind::contiguous, 192, 4);
  const auto pattern = make_pattern("dilated:24,192:8,16", 192);
  const RingSchedule schedule(layout, 1, pattern, 4);
  for (int step = 0; step + 1 < schedule.steps(); ++step)
    CHECK(schedule.rows_passed_on_count(step) == 12);
  // whole-block patterns travel whole
  const RingSchedule window(layout, 1, make_pattern("window:60:0", 192), 4);
  CHECK_FALSE(window.rows_passed_on(0));
  CHECK(window.rows_passed_on_count(0) == 48);
}

TEST_CASE("rows packed, unpacked and copied on the host land at their places", "[travel]") {
  RowExchange x{2, 10, 2 * sizeof(float), {{1, 3, 3}, {8, 1, 2}}, {{0, 2, 2}}};
  std::vector<float> block(2 * 10 * 2);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<float>(i);
  std::vector<float> packed(x.send_bytes() / sizeof(float));
  REQUIRE(packed.size() == 2 * 5 * 2);
  pack_rows(block.data(), x, x.send, packed.data());
  // plane 0: rows 1, 4, 7, 8, 9; plane 1: the same rows of its 10
  const std::vector<float> want{2,  3,  8,  9,  14, 15, 16, 17, 18, 19,
                                22, 23, 28, 29, 34, 35, 36, 37, 38, 39};
  REQUIRE(packed == want);
  std::vector<float> back(block.size(), -1.f);
  unpack_rows(packed.data(), x, x.send, back.data());
  std::vector<float> copied(block.size(), -1.f);
  copy_rows(block.data(), x, x.send, copied.data());
  for (std::int64_t plane = 0; plane < 2; ++plane)
    for (std::int64_t row = 0; row < 10; ++row) {
      const bool sent = row == 1 || row == 4 || row == 7 || row == 8 || row == 9;
      for (int d = 0; d < 2; ++d) {
        const std::size_t i = static_cast<std::size_t>((plane * 10 + row) * 2 + d);
        CHECK(back[i] == (sent ? block[i] : -1.f));
        CHECK(copied[i] == back[i]);
      }
    }
}
