#include "core/patterns/BigBirdPattern.hpp"

#include <algorithm>

#include "core/patterns/PositionMath.hpp"
#include "core/patterns/SeededHash.hpp"

namespace ringbench {

BigBirdPattern::BigBirdPattern(const BigBirdShape& shape, std::int64_t seq_len, bool causal)
    : shape_(shape),
      grid_{shape.block, seq_len / shape.block},
      half_(std::min((shape.window - 1) / 2, seq_len / shape.block)),
      causal_(causal),
      random_(static_cast<std::size_t>(grid_.blocks * shape.randoms)) {
  for (std::int64_t i = 0; i < grid_.blocks; ++i) draw_row(i);
}

std::string BigBirdPattern::spec() const {
  return "bigbird:" + std::to_string(shape_.block) + ":" + std::to_string(shape_.window) + ":" +
         std::to_string(shape_.globals) + ":" + std::to_string(shape_.randoms) + ":" +
         std::to_string(shape_.seed) + (causal_ ? "+causal" : "");
}

std::int64_t BigBirdPattern::candidates_below(std::int64_t i) const {
  // the blocks [G, window_first) of a non-global row; a global row attends every block
  return i < shape_.globals ? 0 : std::max<std::int64_t>(0, window_first(i) - shape_.globals);
}

std::int64_t BigBirdPattern::remaining(std::int64_t i) const {
  // those below the window, and (window_last, blocks)
  return i < shape_.globals ? 0 : candidates_below(i) + (grid_.blocks - 1 - window_last(i));
}

void BigBirdPattern::draw_row(std::int64_t i) {
  const std::int64_t candidates = remaining(i), below = candidates_below(i);
  const std::int64_t n = std::min(shape_.randoms, candidates);
  // Floyd's algorithm: a uniform n-subset of [0, candidates) in n draws
  std::int32_t* row = random_.data() + i * shape_.randoms;
  SplitMix64 stream(shape_.seed, static_cast<std::uint64_t>(i));
  for (std::int64_t j = candidates - n, drawn = 0; j < candidates; ++j, ++drawn) {
    auto x = static_cast<std::int64_t>(stream.below(static_cast<std::uint64_t>(j + 1)));
    if (std::find(row, row + drawn, static_cast<std::int32_t>(x)) != row + drawn) x = j;
    row[drawn] = static_cast<std::int32_t>(x);
  }
  // candidate index -> block: first those below the window, then those above it
  for (std::int64_t d = 0; d < n; ++d)
    row[d] = static_cast<std::int32_t>(row[d] < below ? shape_.globals + row[d]
                                                      : window_last(i) + 1 + row[d] - below);
  std::sort(row, row + n);
}

std::span<const std::int32_t> BigBirdPattern::random_blocks(std::int64_t row) const {
  return {random_.data() + row * shape_.randoms,
          static_cast<std::size_t>(std::min(shape_.randoms, remaining(row)))};
}

std::int64_t BigBirdPattern::randoms_in(std::int64_t i, std::int64_t j0, std::int64_t j1) const {
  const auto row = random_blocks(i);
  return std::upper_bound(row.begin(), row.end(), j1) -
         std::lower_bound(row.begin(), row.end(), j0);
}

bool BigBirdPattern::kept(std::int64_t i, std::int64_t j) const {
  if (i < shape_.globals || j < shape_.globals || (j >= i - half_ && j <= i + half_)) return true;
  const auto row = random_blocks(i);
  return std::binary_search(row.begin(), row.end(), j);
}

bool BigBirdPattern::any_kept(std::int64_t i, std::int64_t j0, std::int64_t j1) const {
  if (i < shape_.globals || j0 < shape_.globals) return true;
  if (window_first(i) <= j1 && window_last(i) >= j0) return true;
  return randoms_in(i, j0, j1) > 0;
}

bool BigBirdPattern::all_kept(std::int64_t i, std::int64_t j0, std::int64_t j1) const {
  if (i < shape_.globals) return true;
  // what the globals and the window leave of [j0, j1] must be random blocks, every one
  const auto drawn_all = [&](std::int64_t a, std::int64_t b) {
    return a > b || randoms_in(i, a, b) == b - a + 1;
  };
  return drawn_all(std::max(j0, shape_.globals), std::min(j1, window_first(i) - 1)) &&
         drawn_all(std::max(j0, window_last(i) + 1), j1);
}

Coverage BigBirdPattern::coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                                  std::int64_t k_last, int, int) const {
  return block_coverage(
      grid_, causal_, q_first, q_last, k_first, k_last,
      [this](std::int64_t i, std::int64_t j0, std::int64_t j1) { return any_kept(i, j0, j1); },
      [this](std::int64_t i, std::int64_t j0, std::int64_t j1) { return all_kept(i, j0, j1); });
}

std::int64_t BigBirdPattern::keys_in_blocks(const PositionRun& k, std::int64_t j0,
                                            std::int64_t j1) const {
  return count_in(k, j0 * grid_.block, j1 * grid_.block + grid_.block - 1);
}

std::int64_t BigBirdPattern::row_keys(std::int64_t i, const PositionRun& k,
                                      std::int64_t last_block) const {
  // keys of k in the blocks row i attends, up to last_block
  if (i < shape_.globals) return keys_in_blocks(k, 0, last_block);
  const std::int64_t g = shape_.globals, first = window_first(i);
  const std::int64_t last = std::min(window_last(i), last_block);
  std::int64_t n = first <= g ? keys_in_blocks(k, 0, std::min(std::max(g - 1, last), last_block))
                              : keys_in_blocks(k, 0, std::min(g - 1, last_block)) +
                                    keys_in_blocks(k, first, last);
  for (const std::int32_t j : random_blocks(i))
    if (j <= last_block) n += keys_in_blocks(k, j, j);
  return n;
}

std::int64_t BigBirdPattern::count_allowed(const PositionRun& q, const PositionRun& k, int) const {
  return block_pattern_pairs(grid_, causal_, q, k, [&](std::int64_t i, std::int64_t last_block) {
    return row_keys(i, k, last_block);
  });
}

BlockMap BigBirdPattern::block_map() const {
  BlockMap map{grid_.block, grid_.blocks,
               std::vector<std::uint8_t>(static_cast<std::size_t>(grid_.blocks * grid_.blocks))};
  for (std::int64_t i = 0; i < grid_.blocks; ++i) {
    std::uint8_t* row = map.kept.data() + i * grid_.blocks;
    if (i < shape_.globals) {
      std::fill(row, row + grid_.blocks, std::uint8_t{1});
      continue;
    }
    std::fill(row, row + std::min(shape_.globals, grid_.blocks), std::uint8_t{1});
    std::fill(row + window_first(i), row + window_last(i) + 1, std::uint8_t{1});
    for (const std::int32_t j : random_blocks(i)) row[j] = 1;
  }
  return map;
}

}  // namespace ringbench
