// The key tiles a GPU kernel visits for a pattern that is no band (longformer, bigbird,
// blocksparse): for every block of kQueryTile local queries, the tiles of kKeyTile keys of the
// block holding an allowed pair, each marked full (no pair needs testing) or partial (the kernel
// tests every pair of it from positions with the pattern's MaskTerms). Built once per
// (queries, block owner) on the host from the pattern's box coverage and kept on the device, so a
// ring step loads and computes only those tiles.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/AttentionPattern.hpp"

namespace ringbench {

struct KeyTileList {
  static constexpr int kQueryTile = 128;  // the own kernels' query block
  static constexpr int kKeyTile = 128;    // their widest key tile (narrower ones split it)

  // Query block b visits entries[offsets[b] .. offsets[b + 1]); entry = key tile * 2 + partial.
  std::vector<std::int32_t> offsets;
  std::vector<std::int32_t> entries;

  std::int64_t query_blocks() const { return static_cast<std::int64_t>(offsets.size()) - 1; }
  std::int64_t tiles() const { return static_cast<std::int64_t>(entries.size()); }
  std::int64_t partial_tiles() const;
};

// The list for queries at q_positions and keys at k_positions (each increasing) under one
// head-uniform, one-branch pattern. Cost: about (listed tiles) x log(key tiles) coverage
// questions, found by halving key ranges whose coverage is partial.
KeyTileList build_key_tile_list(const AttentionPattern& pattern,
                                std::span<const std::int64_t> q_positions,
                                std::span<const std::int64_t> k_positions);

}  // namespace ringbench
