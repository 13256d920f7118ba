#include "ring/KeyTileList.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace ringbench {

std::int64_t KeyTileList::partial_tiles() const {
  return std::count_if(entries.begin(), entries.end(), [](std::int32_t e) { return e & 1; });
}

namespace {

class TileListBuilder {
 public:
  TileListBuilder(const AttentionPattern& pattern, std::span<const std::int64_t> inner,
                  TileShape shape, std::vector<std::int32_t>& entries)
      : pattern_(pattern), inner_(inner), shape_(shape), entries_(entries) {}

  // Appends the listed tiles among inner tiles [t0, t1) for outer positions [first, last].
  void add(std::int64_t first, std::int64_t last, std::int64_t t0, std::int64_t t1) {
    const std::int64_t in_first = first_of(t0), in_last = last_of(t1 - 1);
    const Coverage c = shape_.by_keys ? pattern_.coverage(in_first, in_last, first, last, 0, 0)
                                      : pattern_.coverage(first, last, in_first, in_last, 0, 0);
    if (c == Coverage::none) return;
    if (c == Coverage::full) {
      for (std::int64_t t = t0; t < t1; ++t) append(t, ragged(t));
      return;
    }
    if (t1 - t0 == 1) return append(t0, true);
    const std::int64_t mid = t0 + (t1 - t0) / 2;
    add(first, last, t0, mid);
    add(first, last, mid, t1);
  }

 private:
  std::int64_t size() const { return static_cast<std::int64_t>(inner_.size()); }
  std::int64_t first_of(std::int64_t tile) const { return inner_[tile * shape_.tile]; }
  std::int64_t last_of(std::int64_t tile) const {
    return inner_[std::min<std::int64_t>((tile + 1) * shape_.tile, size()) - 1];
  }
  // The last tile may be cut short: the kernel masks the rows past the end.
  bool ragged(std::int64_t tile) const { return (tile + 1) * shape_.tile > size(); }
  void append(std::int64_t tile, bool partial) {
    entries_.push_back(static_cast<std::int32_t>(tile * 2 + (partial ? 1 : 0)));
  }

  const AttentionPattern& pattern_;
  std::span<const std::int64_t> inner_;
  TileShape shape_;
  std::vector<std::int32_t>& entries_;
};

}  // namespace

KeyTileList build_tile_list(const AttentionPattern& pattern,
                            std::span<const std::int64_t> q_positions,
                            std::span<const std::int64_t> k_positions, TileShape shape) {
  if (pattern.branches() != 1 || pattern.head_period() != 1)
    throw std::logic_error("build_tile_list: pattern " + pattern.spec() +
                           " is not head-uniform with one branch");
  const auto outer = shape.by_keys ? k_positions : q_positions;
  const auto inner = shape.by_keys ? q_positions : k_positions;
  const auto outer_len = static_cast<std::int64_t>(outer.size());
  const auto inner_len = static_cast<std::int64_t>(inner.size());
  const std::int64_t blocks = (outer_len + shape.block - 1) / shape.block;
  const std::int64_t tiles = (inner_len + shape.tile - 1) / shape.tile;
  if (tiles >= (std::int64_t{1} << 30))
    throw std::logic_error("build_tile_list: too many tiles for 32-bit entries");
  KeyTileList list;
  list.offsets.reserve(static_cast<std::size_t>(blocks + 1));
  list.offsets.push_back(0);
  TileListBuilder builder(pattern, inner, shape, list.entries);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t first = b * shape.block;
    const std::int64_t last = std::min(first + shape.block, outer_len) - 1;
    if (tiles > 0) builder.add(outer[first], outer[last], 0, tiles);
    list.offsets.push_back(static_cast<std::int32_t>(list.entries.size()));
  }
  list.order.resize(static_cast<std::size_t>(blocks));
  std::iota(list.order.begin(), list.order.end(), 0);
  const auto count = [&](std::int32_t b) { return list.offsets[b + 1] - list.offsets[b]; };
  std::stable_sort(list.order.begin(), list.order.end(),
                   [&](std::int32_t a, std::int32_t b) { return count(a) > count(b); });
  return list;
}

}  // namespace ringbench
