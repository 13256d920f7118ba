#include "core/patterns/BlockSparsePattern.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include "core/patterns/PositionMath.hpp"
#include "core/patterns/SeededHash.hpp"

namespace ringbench {

namespace {
// Kept blocks among [j0, j1] of a bitmap row that `marks` marks too, word by word.
std::int64_t count_marked(const std::uint64_t* row, const std::uint64_t* marks, std::int64_t j0,
                          std::int64_t j1) {
  std::int64_t n = 0;
  for (std::int64_t w = j0 / 64; w <= j1 / 64; ++w) {
    const int lo = w == j0 / 64 ? static_cast<int>(j0 % 64) : 0;
    const int hi = w == j1 / 64 ? static_cast<int>(j1 % 64) : 63;
    const std::uint64_t mask = (~std::uint64_t{0} << lo) & (~std::uint64_t{0} >> (63 - hi));
    n += std::popcount(row[w] & marks[w] & mask);
  }
  return n;
}
}  // namespace

BlockSparsePattern::BlockSparsePattern(std::int64_t block, double density, std::uint64_t seed,
                                       std::int64_t seq_len, bool causal)
    : grid_{block, seq_len / block},
      density_(density),
      seed_(seed),
      causal_(causal),
      words_((grid_.blocks + 63) / 64),
      bits_(static_cast<std::size_t>(grid_.blocks * words_)),
      kept_before_(bits_.size()) {
  // unit_interval(h) < density, in integers: (h >> 11) < density·2^53, rounded up
  const auto threshold = static_cast<std::uint64_t>(std::ceil(density * 0x1.0p53));
  const std::int64_t n = grid_.blocks;
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    SplitMix64 stream(seed, static_cast<std::uint64_t>(i));  // yields seeded_hash(seed, i, j)
    std::uint64_t* words = bits_.data() + i * words_;
    std::uint16_t* before = kept_before_.data() + i * words_;
    std::int64_t kept = 0;
    for (std::int64_t w = 0; w < words_; ++w) {
      std::uint64_t word = 0;
      for (std::int64_t b = 0; b < std::min<std::int64_t>(64, n - 64 * w); ++b)
        word |= std::uint64_t{(stream.next() >> 11) < threshold} << b;
      if (w == i / 64) word |= std::uint64_t{1} << (i % 64);  // the diagonal
      words[w] = word;
      before[w] = static_cast<std::uint16_t>(kept);  // <= 64·w < blocks <= 2^16
      kept += std::popcount(word);
    }
  }
}

std::int64_t BlockSparsePattern::kept_through(std::int64_t i, std::int64_t j) const {
  const std::size_t w = static_cast<std::size_t>(i * words_ + j / 64);
  return kept_before_[w] + std::popcount(bits_[w] & (~std::uint64_t{0} >> (63 - j % 64)));
}

std::int64_t BlockSparsePattern::kept_in(std::int64_t i, std::int64_t j0, std::int64_t j1) const {
  return kept_through(i, j1) - (j0 > 0 ? kept_through(i, j0 - 1) : 0);
}

std::string BlockSparsePattern::spec() const {
  char density[32];
  const auto end = std::to_chars(density, density + sizeof density, density_).ptr;  // shortest
  return "blocksparse:" + std::to_string(grid_.block) + ":" + std::string(density, end) + ":" +
         std::to_string(seed_) + (causal_ ? "+causal" : "");
}

Coverage BlockSparsePattern::coverage(std::int64_t q_first, std::int64_t q_last,
                                      std::int64_t k_first, std::int64_t k_last, int, int) const {
  const auto any_kept = [this](std::int64_t i, std::int64_t j0, std::int64_t j1) {
    return kept_in(i, j0, j1) > 0;
  };
  const auto all_kept = [this](std::int64_t i, std::int64_t j0, std::int64_t j1) {
    return kept_in(i, j0, j1) == j1 - j0 + 1;
  };
  return block_coverage(grid_, causal_, q_first, q_last, k_first, k_last, any_kept, all_kept);
}

// The keys of a run per key block, for adding up a row's kept blocks a range at a time. A block
// strictly inside the run's span holds floor(B / stride) keys or one more; `extra` marks the blocks
// with one more (none when the stride divides B). The blocks at the two ends are counted on their
// own.
struct BlockSparsePattern::KeyBlocks {
  std::int64_t first = 0, last = -1;  // key blocks holding keys of the run
  std::int64_t first_keys = 0, last_keys = 0;
  std::int64_t inner_keys = 0;  // floor(B / stride)
  std::vector<std::uint64_t> extra;
};

BlockSparsePattern::KeyBlocks BlockSparsePattern::key_blocks(const PositionRun& k) const {
  KeyBlocks keys;
  if (k.length <= 0) return keys;
  const std::int64_t b = grid_.block;
  const auto keys_in_block = [&](std::int64_t j) { return count_in(k, j * b, j * b + b - 1); };
  keys.first = k.first() / b;
  keys.last = k.last() / b;
  keys.first_keys = keys_in_block(keys.first);
  keys.last_keys = keys_in_block(keys.last);
  keys.inner_keys = b / k.stride;
  if (b % k.stride != 0) {
    keys.extra.assign(static_cast<std::size_t>(words_), 0);
    for (std::int64_t j = keys.first + 1; j < keys.last; ++j)
      if (keys_in_block(j) > keys.inner_keys) keys.extra[j / 64] |= std::uint64_t{1} << (j % 64);
  }
  return keys;
}

std::int64_t BlockSparsePattern::row_keys(std::int64_t i, const KeyBlocks& keys, std::int64_t j0,
                                          std::int64_t j1) const {
  // keys in the kept blocks of row i among key blocks [j0, j1]
  j0 = std::max(j0, keys.first);
  j1 = std::min(j1, keys.last);
  if (j0 > j1) return 0;
  std::int64_t n = 0;
  if (j0 == keys.first) {
    n += kept(i, j0) ? keys.first_keys : 0;
    ++j0;
  }
  if (j1 == keys.last && j1 >= j0) {
    n += kept(i, j1) ? keys.last_keys : 0;
    --j1;
  }
  if (j0 > j1) return n;
  n += keys.inner_keys * kept_in(i, j0, j1);
  if (!keys.extra.empty()) n += count_marked(row(i), keys.extra.data(), j0, j1);
  return n;
}

std::int64_t BlockSparsePattern::count_allowed(const PositionRun& q, const PositionRun& k,
                                               int) const {
  const KeyBlocks keys = key_blocks(k);
  return block_pattern_pairs(grid_, causal_, q, k, [&](std::int64_t i, std::int64_t last_block) {
    return row_keys(i, keys, 0, last_block);
  });
}

BlockBitmap BlockSparsePattern::block_bitmap() const {
  BlockBitmap out{grid_.block, grid_.blocks, (grid_.blocks + 31) / 32, {}};
  out.bits.resize(static_cast<std::size_t>(grid_.blocks * out.words));
  for (std::int64_t i = 0; i < grid_.blocks; ++i)
    for (std::int64_t w = 0; w < out.words; ++w) {  // halves of the 64-bit words, low first
      const std::uint64_t word = row(i)[w / 2];
      out.bits[static_cast<std::size_t>(i * out.words + w)] =
          static_cast<std::uint32_t>(w % 2 == 0 ? word : word >> 32);
    }
  return out;
}

BlockMap BlockSparsePattern::block_map() const {
  BlockMap map{grid_.block, grid_.blocks,
               std::vector<std::uint8_t>(static_cast<std::size_t>(grid_.blocks * grid_.blocks))};
  for (std::int64_t i = 0; i < grid_.blocks; ++i)
    for (std::int64_t j = 0; j < grid_.blocks; ++j)
      map.kept[static_cast<std::size_t>(i * grid_.blocks + j)] = kept(i, j) ? 1 : 0;
  return map;
}

}  // namespace ringbench
