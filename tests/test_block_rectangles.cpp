// Rectangles of a ring step cover exactly the allowed pairs, for every layout, rank and step.
#include "core/PatternSpec.hpp"
#include "core/SequenceLayout.hpp"
#include "ring/BlockRectangles.hpp"
#include "ring/RingSchedule.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

TEST_CASE("block rectangles cover exactly the allowed pairs and merge zigzag halves",
          "[rectangles]") {
  for (auto kind : {LayoutKind::contiguous, LayoutKind::zigzag})
    for (const std::string mask : {"none", "causal"})
      for (int P : {1, 2, 3, 4}) {
        const SequenceLayout layout(kind, 2 * P * 6, P);
        const auto pattern = make_pattern(mask, layout.seq_len());
        for (int r = 0; r < P; ++r) {
          const RingSchedule schedule(layout, r, pattern, 1);
          const auto qpos = layout.positions(r);
          for (int s = 0; s < P; ++s) {
            const BlockMask m = schedule.mask(s);
            const auto kpos = layout.positions(m.kv_owner);
            const auto rects = block_rectangles(m);
            REQUIRE(rects.has_value());
            const std::int64_t n = layout.local_len();
            std::vector<int> covered(n * n, 0);
            for (const auto& rect : *rects)
              for (std::int64_t i = 0; i < rect.q_len; ++i)
                for (std::int64_t j = 0; j < rect.k_len; ++j)
                  if (!rect.causal || j <= i) ++covered[(rect.q_begin + i) * n + rect.k_begin + j];
            for (std::int64_t i = 0; i < n; ++i)
              for (std::int64_t j = 0; j < n; ++j)
                REQUIRE(covered[i * n + j] == (pattern->allows(qpos[i], kpos[j], 0, 0) ? 1 : 0));
            // zigzag off-diagonal steps are one rectangle: all queries x half the keys or the
            // reverse
            if (kind == LayoutKind::zigzag && mask == "causal" && s > 0)
              REQUIRE(rects->size() == 1);
          }
        }
      }
}
