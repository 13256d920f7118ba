#include "ring/BlockTravel.hpp"

#include <algorithm>

namespace ringbench {

namespace {
int source_of(int holder, int ring_step, int ranks) {
  return (holder - ring_step % ranks + ranks) % ranks;
}
std::int64_t tokens_of(std::span<const PositionRun> runs) {
  std::int64_t n = 0;
  for (const PositionRun& r : runs) n += r.length;
  return n;
}
}  // namespace

void HolderPositions::add(std::span<const PositionRun> runs) {
  for (const PositionRun& r : runs) {
    if (r.length <= 0) continue;
    // a strided run counts as its whole span: a superset of its positions, so at worst a few
    // more rows travel than are read
    std::int64_t first = r.first(), last = r.last();
    auto it =
        std::lower_bound(runs_.begin(), runs_.end(), first,
                         [](const PositionRun& x, std::int64_t p) { return x.last() + 1 < p; });
    while (it != runs_.end() && it->first() <= last + 1) {
      first = std::min(first, it->first());
      last = std::max(last, it->last());
      it = runs_.erase(it);
    }
    runs_.insert(it, PositionRun{0, first, last - first + 1, 1});
  }
}

HolderPositions later_holders(const SequenceLayout& layout, int holder, int ring_step,
                              int last_needed_step) {
  HolderPositions later;
  const int P = layout.ranks();
  for (int k = 1; k <= last_needed_step - ring_step; ++k) later.add(layout.runs((holder + k) % P));
  return later;
}

std::optional<std::vector<RowSelection>> rows_travelling(const SequenceLayout& layout,
                                                         const AttentionPattern& pattern,
                                                         std::int64_t heads, int holder,
                                                         int ring_step, int last_needed_step) {
  if (!pattern.reads_row_subsets()) return std::nullopt;
  const HolderPositions later = later_holders(layout, holder, ring_step, last_needed_step);
  if (later.empty()) return std::vector<RowSelection>{};
  return pattern.key_rows_read(later.runs(),
                               layout.runs(source_of(holder, ring_step, layout.ranks())), heads);
}

std::vector<std::int64_t> rows_travelling_counts(const SequenceLayout& layout,
                                                 const AttentionPattern& pattern,
                                                 std::int64_t heads, int holder,
                                                 int last_needed_step) {
  const int P = layout.ranks();
  std::vector<std::int64_t> counts(static_cast<std::size_t>(last_needed_step + 1), 0);
  HolderPositions later;
  for (int t = last_needed_step - 1; t >= 0; --t) {
    later.add(layout.runs((holder + last_needed_step - t) % P));
    const auto& k_runs = layout.runs(source_of(holder, t, P));
    counts[static_cast<std::size_t>(t)] =
        pattern.reads_row_subsets() ? pattern.key_rows_read_count(later.runs(), k_runs, heads)
                                    : tokens_of(k_runs);
  }
  return counts;
}

}  // namespace ringbench
