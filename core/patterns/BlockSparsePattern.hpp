// blocksparse:B:DENSITY[:SEED] — blocks of B x B tokens, block (i, j) kept with probability
// DENSITY, diagonal blocks always: block (i, j) is kept when i = j or
// unit_interval(seeded_hash(SEED, i, j)) < DENSITY (core/patterns/SeededHash.hpp), the same on
// every rank, in every kernel and for every sequence length. +causal intersects it with causal.
//
// The draw is kept as a bitmap, one bit per block, with each row's running count of kept blocks
// at every 64th block (16 bits): allows() reads a bit, and the kept blocks of any range of a row
// are two lookups and two popcounts, so coverage is O(rows of the box) and a count O(query
// blocks). At 1M tokens and B = 64 (16384 blocks per side) that is 32 + 8 MiB; drawing it (one
// hash per block, rows in parallel) is the pattern's construction cost. Above kMaxBlocks blocks
// per side (512 MiB of bitmap) the spec is refused: choose a larger B.
#pragma once

#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/patterns/BlockCoverage.hpp"

namespace ringbench {

class BlockSparsePattern final : public AttentionPattern {
 public:
  static constexpr std::int64_t kMaxBlocks = 65536;

  BlockSparsePattern(std::int64_t block, double density, std::uint64_t seed, std::int64_t seq_len,
                     bool causal);

  std::int64_t block() const { return grid_.block; }
  std::int64_t blocks() const { return grid_.blocks; }
  double density() const { return density_; }
  std::uint64_t seed() const { return seed_; }
  bool causal() const { return causal_; }
  bool kept(std::int64_t i, std::int64_t j) const {
    return (bits_[static_cast<std::size_t>(i * words_ + j / 64)] >> (j % 64)) & 1;
  }

  std::string spec() const override;
  bool allows(std::int64_t q, std::int64_t k, int, int) const override {
    return (!causal_ || k <= q) && kept(q / grid_.block, k / grid_.block);
  }
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last, int, int) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int) const override;
  BlockMap block_map() const override;
  BlockBitmap block_bitmap() const override;  // straight from the drawn bits
  std::optional<MaskTerms> mask_terms() const override {
    return MaskTerms{std::nullopt, 0, true, grid_.block, causal_, 0};
  }

 private:
  struct KeyBlocks;  // how many keys of a run each key block holds
  KeyBlocks key_blocks(const PositionRun& k) const;
  // Kept blocks of row i among key blocks [0, j], and among [j0, j1].
  std::int64_t kept_through(std::int64_t i, std::int64_t j) const;
  std::int64_t kept_in(std::int64_t i, std::int64_t j0, std::int64_t j1) const;
  std::int64_t row_keys(std::int64_t i, const KeyBlocks& keys, std::int64_t j0,
                        std::int64_t j1) const;
  const std::uint64_t* row(std::int64_t i) const { return bits_.data() + i * words_; }

  BlockGrid grid_;
  double density_;
  std::uint64_t seed_;
  bool causal_;
  std::int64_t words_;                      // 64-bit words per row of the bitmap
  std::vector<std::uint64_t> bits_;         // row-major, bit j % 64 of word j / 64: key block j
  std::vector<std::uint16_t> kept_before_;  // per word: the row's kept blocks in earlier words
};

}  // namespace ringbench
