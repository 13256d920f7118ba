// bigbird:B:W:G:N[:SEED] — BigBird's block pattern (Zaheer et al. 2020). The sequence is cut into
// blocks of B tokens; query block i attends key block j when |i - j| <= (W - 1) / 2 (a window of
// W blocks, W odd), when i < G or j < G (global blocks), or when j is one of the N random blocks
// drawn for row i. The draw is uniform without replacement among the blocks row i does not
// already attend (all of them when fewer than N remain; global rows attend everything and draw
// none), from row i's SplitMix64 stream for SEED (core/patterns/SeededHash.hpp): a pure
// function of (spec, sequence length), the same on every rank and in every kernel.
// +causal intersects this with causal; random blocks right of the diagonal are then dropped.
#pragma once

#include <span>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/patterns/BlockCoverage.hpp"

namespace ringbench {

struct BigBirdShape {
  std::int64_t block = 1;    // B: tokens per block, divides the sequence length
  std::int64_t window = 1;   // W: window blocks, odd
  std::int64_t globals = 0;  // G: global blocks, at most the blocks
  std::int64_t randoms = 0;  // N: random blocks per row, at most kMaxRandoms
  std::uint64_t seed = 0;

  static constexpr std::int64_t kMaxRandoms = 64;  // a row's draw is a small sorted table
};

class BigBirdPattern final : public AttentionPattern {
 public:
  BigBirdPattern(const BigBirdShape& shape, std::int64_t seq_len, bool causal);

  const BigBirdShape& shape() const { return shape_; }
  bool causal() const { return causal_; }
  std::int64_t blocks() const { return grid_.blocks; }
  // Row i's random key blocks, ascending: min(N, blocks row i does not already attend) of them.
  std::span<const std::int32_t> random_blocks(std::int64_t row) const;
  // Whether query block i attends key block j (before +causal).
  bool kept(std::int64_t i, std::int64_t j) const;

  std::string spec() const override;
  bool allows(std::int64_t q, std::int64_t k, int, int) const override {
    return (!causal_ || k <= q) && kept(q / grid_.block, k / grid_.block);
  }
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last, int, int) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int) const override;
  BlockMap block_map() const override;
  std::optional<MaskTerms> mask_terms() const override {
    return MaskTerms{std::nullopt, 0, true, grid_.block, causal_, 0};
  }

 private:
  // Row i's window of blocks, clipped to the sequence: window_first(i) .. window_last(i).
  std::int64_t window_first(std::int64_t i) const { return std::max<std::int64_t>(0, i - half_); }
  std::int64_t window_last(std::int64_t i) const { return std::min(grid_.blocks - 1, i + half_); }
  // Blocks row i may draw: below its window (and not global), and all of them.
  std::int64_t candidates_below(std::int64_t i) const;
  std::int64_t remaining(std::int64_t i) const;
  void draw_row(std::int64_t i);
  bool any_kept(std::int64_t i, std::int64_t j0, std::int64_t j1) const;
  bool all_kept(std::int64_t i, std::int64_t j0, std::int64_t j1) const;
  std::int64_t randoms_in(std::int64_t i, std::int64_t j0, std::int64_t j1) const;
  std::int64_t keys_in_blocks(const PositionRun& k, std::int64_t j0, std::int64_t j1) const;
  std::int64_t row_keys(std::int64_t i, const PositionRun& k, std::int64_t last_block) const;

  BigBirdShape shape_;
  BlockGrid grid_;
  std::int64_t half_;  // (W - 1) / 2, capped at the blocks
  bool causal_;
  std::vector<std::int32_t> random_;  // blocks x N; row i uses its first min(N, remaining(i))
};

}  // namespace ringbench
