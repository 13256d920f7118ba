// The tiles a GPU kernel visits for a pattern that is not dense (windows, longformer, bigbird,
// blocksparse, dilated:W:1): for every block of one side (queries in the forward, keys in the
// backward), the tiles of the other side holding an allowed pair, each marked full (no pair needs
// testing) or partial (the kernel tests every pair of it from positions with the pattern's
// MaskTerms). Built once per (queries, block owner) on the host from the pattern's box coverage
// and kept on the device, so a ring step loads and computes only those tiles.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/AttentionPattern.hpp"

namespace ringbench {

struct KeyTileList {
  // Block b of the outer side visits entries[offsets[b] .. offsets[b + 1]); entry = tile * 2 +
  // partial, in increasing tile order. `order` lists the blocks by decreasing number of tiles, so a
  // kernel can start the longest ones first.
  std::vector<std::int32_t> offsets;
  std::vector<std::int32_t> entries;
  std::vector<std::int32_t> order;

  std::int64_t blocks() const { return static_cast<std::int64_t>(offsets.size()) - 1; }
  std::int64_t tiles() const { return static_cast<std::int64_t>(entries.size()); }
  std::int64_t partial_tiles() const;
};

// Which side is the outer one, and the sizes of its blocks and of the other side's tiles.
struct TileShape {
  bool by_keys = false;  // false: outer blocks of queries (forward); true: of keys (backward)
  int block = 128;       // outer rows per block
  int tile = 128;        // inner rows per tile
};

// The forward kernels' shape: 128-query blocks visiting 128-key tiles.
inline constexpr TileShape kForwardTiles{false, 128, 128};
// The backward kernel's: 128-key blocks visiting 64-query tiles.
inline constexpr TileShape kBackwardTiles{true, 128, 64};

// The list for queries at q_positions and keys at k_positions (each increasing) under one
// head-uniform, one-branch pattern. Cost: about (listed tiles) x log(tiles) coverage questions,
// found by halving ranges whose coverage is partial.
KeyTileList build_tile_list(const AttentionPattern& pattern,
                            std::span<const std::int64_t> q_positions,
                            std::span<const std::int64_t> k_positions, TileShape shape);

}  // namespace ringbench
