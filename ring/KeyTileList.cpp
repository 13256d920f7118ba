#include "ring/KeyTileList.hpp"

#include <algorithm>
#include <stdexcept>

namespace ringbench {

std::int64_t KeyTileList::partial_tiles() const {
  return std::count_if(entries.begin(), entries.end(), [](std::int32_t e) { return e & 1; });
}

namespace {

class TileListBuilder {
 public:
  TileListBuilder(const AttentionPattern& pattern, std::span<const std::int64_t> k_positions,
                  std::vector<std::int32_t>& entries)
      : pattern_(pattern), k_(k_positions), entries_(entries) {}

  // Appends the listed tiles among key tiles [t0, t1) for queries in [q_first, q_last].
  void add(std::int64_t q_first, std::int64_t q_last, std::int64_t t0, std::int64_t t1) {
    const Coverage c = pattern_.coverage(q_first, q_last, first_key(t0), last_key(t1 - 1), 0, 0);
    if (c == Coverage::none) return;
    if (c == Coverage::full) {
      for (std::int64_t t = t0; t < t1; ++t) append(t, ragged(t));
      return;
    }
    if (t1 - t0 == 1) return append(t0, true);
    const std::int64_t mid = t0 + (t1 - t0) / 2;
    add(q_first, q_last, t0, mid);
    add(q_first, q_last, mid, t1);
  }

 private:
  std::int64_t first_key(std::int64_t tile) const { return k_[tile * KeyTileList::kKeyTile]; }
  std::int64_t last_key(std::int64_t tile) const {
    return k_[std::min<std::int64_t>((tile + 1) * KeyTileList::kKeyTile, k_.size()) - 1];
  }
  // The last tile may hold fewer keys than a full one: the kernel masks the columns past the end.
  bool ragged(std::int64_t tile) const {
    return (tile + 1) * KeyTileList::kKeyTile > static_cast<std::int64_t>(k_.size());
  }
  void append(std::int64_t tile, bool partial) {
    entries_.push_back(static_cast<std::int32_t>(tile * 2 + (partial ? 1 : 0)));
  }

  const AttentionPattern& pattern_;
  std::span<const std::int64_t> k_;
  std::vector<std::int32_t>& entries_;
};

}  // namespace

KeyTileList build_key_tile_list(const AttentionPattern& pattern,
                                std::span<const std::int64_t> q_positions,
                                std::span<const std::int64_t> k_positions) {
  if (pattern.branches() != 1 || pattern.head_period() != 1)
    throw std::logic_error("build_key_tile_list: pattern " + pattern.spec() +
                " is not head-uniform with one branch");
  const auto q_len = static_cast<std::int64_t>(q_positions.size());
  const auto k_len = static_cast<std::int64_t>(k_positions.size());
  const std::int64_t q_blocks = (q_len + KeyTileList::kQueryTile - 1) / KeyTileList::kQueryTile;
  const std::int64_t k_tiles = (k_len + KeyTileList::kKeyTile - 1) / KeyTileList::kKeyTile;
  if (k_tiles >= (std::int64_t{1} << 30))
    throw std::logic_error("build_key_tile_list: too many key tiles for 32-bit entries");
  KeyTileList list;
  list.offsets.reserve(static_cast<std::size_t>(q_blocks + 1));
  list.offsets.push_back(0);
  TileListBuilder builder(pattern, k_positions, list.entries);
  for (std::int64_t b = 0; b < q_blocks; ++b) {
    const std::int64_t first = b * KeyTileList::kQueryTile;
    const std::int64_t last = std::min(first + KeyTileList::kQueryTile, q_len) - 1;
    if (k_tiles > 0) builder.add(q_positions[first], q_positions[last], 0, k_tiles);
    list.offsets.push_back(static_cast<std::int32_t>(list.entries.size()));
  }
  return list;
}

}  // namespace ringbench
