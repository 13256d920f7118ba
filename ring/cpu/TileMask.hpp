// The mask a CPU kernel computes one tile pair under: one branch of the pattern for one query
// head, and whether the tile is partially covered (then every pair is tested; a fully covered
// tile skips the test, a tile with none allowed is not computed at all).
#pragma once

#include <cstdint>

#include "core/AttentionPattern.hpp"

namespace ringbench {

// How much of the tile of `rows` queries at qpos[0..] and `cols` keys at kpos[0..] (positions in
// increasing order) one head and branch of the pattern allows.
inline Coverage tile_coverage(const AttentionPattern& pattern, const std::int64_t* qpos,
                              std::int64_t rows, const std::int64_t* kpos, std::int64_t cols,
                              std::int64_t head, int branch) {
  return pattern.coverage(qpos[0], qpos[rows - 1], kpos[0], kpos[cols - 1], static_cast<int>(head),
                          branch);
}

struct TileMask {
  const AttentionPattern& pattern;
  int head, branch;
  bool partial;

  bool allows(std::int64_t q, std::int64_t k) const { return pattern.allows(q, k, head, branch); }
};

}  // namespace ringbench
