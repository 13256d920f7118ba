#include "ring/BlockRectangles.hpp"

namespace ringbench {

namespace {

bool same_positions(const PositionRun& a, const PositionRun& b) {
  return a.global_start == b.global_start && a.length == b.length && a.stride == b.stride;
}

// Joins b into a when together they cover one larger all-pairs rectangle.
bool try_join(BlockRectangle& a, const BlockRectangle& b) {
  if (a.causal || b.causal) return false;
  if (a.k_begin == b.k_begin && a.k_len == b.k_len) {
    if (a.q_begin + a.q_len == b.q_begin) return a.q_len += b.q_len, true;
    if (b.q_begin + b.q_len == a.q_begin) return a.q_begin = b.q_begin, a.q_len += b.q_len, true;
  }
  if (a.q_begin == b.q_begin && a.q_len == b.q_len) {
    if (a.k_begin + a.k_len == b.k_begin) return a.k_len += b.k_len, true;
    if (b.k_begin + b.k_len == a.k_begin) return a.k_begin = b.k_begin, a.k_len += b.k_len, true;
  }
  return false;
}

}  // namespace

std::optional<std::vector<BlockRectangle>> block_rectangles(const BlockMask& mask) {
  std::vector<BlockRectangle> rects;
  for (const auto& q : mask.q_runs)
    for (const auto& k : mask.kv_runs) {
      const Coverage c = mask.pattern->coverage(q.first(), q.last(), k.first(), k.last(), 0, 0);
      if (c == Coverage::none) continue;
      const BlockRectangle r{q.local_start, q.length, k.local_start, k.length,
                             c == Coverage::partial};
      if (r.causal && !(same_positions(q, k) && mask.pattern->dense_kind() == MaskKind::causal))
        return std::nullopt;
      rects.push_back(r);
    }
  // merge until nothing joins (a handful of rectangles at most)
  for (bool joined = true; joined;) {
    joined = false;
    for (std::size_t i = 0; i < rects.size() && !joined; ++i)
      for (std::size_t j = i + 1; j < rects.size() && !joined; ++j)
        if (try_join(rects[i], rects[j])) {
          rects.erase(rects.begin() + static_cast<std::ptrdiff_t>(j));
          joined = true;
        }
  }
  return rects;
}

}  // namespace ringbench
