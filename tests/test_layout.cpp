#include <set>

#include "core/Error.hpp"
#include "core/SequenceLayout.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

TEST_CASE("every layout is a bijection for world sizes 1..8", "[layout]") {
  for (auto kind : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped})
    for (int P = 1; P <= 8; ++P) {
      const std::int64_t S = SequenceLayout::required_multiple(kind, P) * 3;
      const SequenceLayout layout(kind, S, P);
      std::set<std::int64_t> seen;
      for (int r = 0; r < P; ++r) {
        const auto pos = layout.positions(r);
        REQUIRE(static_cast<std::int64_t>(pos.size()) == layout.local_len());
        for (std::int64_t i = 0; i < layout.local_len(); ++i) {
          const std::int64_t g = layout.global_index(r, i);
          REQUIRE(g == pos[i]);
          REQUIRE(layout.locate(g) == std::make_pair(r, i));
          if (i > 0) REQUIRE(pos[i] > pos[i - 1]);  // kernels rely on increasing positions
          seen.insert(g);
        }
      }
      REQUIRE(static_cast<std::int64_t>(seen.size()) == S);
      REQUIRE(*seen.begin() == 0);
      REQUIRE(*seen.rbegin() == S - 1);
    }
}

TEST_CASE("zigzag gives rank r chunks r and 2P-1-r", "[layout]") {
  const SequenceLayout layout(LayoutKind::zigzag, 16, 4);  // chunks of 2
  REQUIRE(layout.positions(0) == std::vector<std::int64_t>{0, 1, 14, 15});
  REQUIRE(layout.positions(3) == std::vector<std::int64_t>{6, 7, 8, 9});
}

TEST_CASE("striped gives rank r tokens r, r+P, r+2P, ... as one run of stride P", "[layout]") {
  const SequenceLayout layout(LayoutKind::striped, 12, 4);
  REQUIRE(layout.positions(1) == std::vector<std::int64_t>{1, 5, 9});
  REQUIRE(layout.runs(3).size() == 1);
  REQUIRE(layout.runs(3)[0].stride == 4);
  REQUIRE(layout.runs(3)[0].last() == 11);
  REQUIRE(layout.locate(10) == std::make_pair(2, std::int64_t{2}));
  REQUIRE(parse_layout("striped") == LayoutKind::striped);
  REQUIRE(to_string(LayoutKind::striped) == "striped");
  REQUIRE_THROWS_AS(SequenceLayout(LayoutKind::striped, 10, 4), ConfigError);  // a multiple of P
}

TEST_CASE("a sequence the layout cannot split evenly is refused naming seq-len", "[layout]") {
  REQUIRE_THROWS_AS(SequenceLayout(LayoutKind::contiguous, 10, 4), ConfigError);
  try {
    SequenceLayout(LayoutKind::zigzag, 12, 4);  // needs a multiple of 8
    FAIL("no error");
  } catch (const ConfigError& e) {
    REQUIRE(e.key() == "seq-len");
    REQUIRE(e.value() == "12");
    REQUIRE(e.allowed().find("multiple of 8") != std::string::npos);
  }
  REQUIRE_THROWS_AS(parse_layout("diagonal"), ConfigError);
}
