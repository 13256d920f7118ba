// Which (query, key) pairs may attend, judged from global token positions and the query head
// only. The ring and the kernels ask a pattern about boxes of positions, so a new pattern (sliding
// window, Longformer, BigBird, LongNet's dilated, block-sparse) is one new class here and nothing
// changes in the ring. Patterns are written as specs (`--mask window:4095:0`) and built by
// make_pattern (core/PatternSpec.hpp).
//
// Branches: LongNet's dilated attention is a union of (segment, dilation) pairs whose partial
// attentions are mixed by their softmax denominators, which is exactly the log-sum-exp merge of
// the pairs' partial results. A pattern therefore has one or more branches, each an ordinary mask;
// a query attends the keys of every branch, a key allowed by two branches counting twice
// (multiplicity). Kernels loop over the branches inside their online softmax; every pattern but
// dilated has one branch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/ProblemSpec.hpp"
#include "core/RowSelection.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

enum class Coverage { none, partial, full };

// The block map a random pattern drew (bigbird, blocksparse): blocks x blocks, 1 = kept.
struct BlockMap {
  std::int64_t block = 0;          // tokens per block
  std::int64_t blocks = 0;         // blocks per side
  std::vector<std::uint8_t> kept;  // row-major [query block][key block]
};

// A block map as bits: query block i's key block j is bit j % 32 of bits[i * words + j / 32].
struct BlockBitmap {
  std::int64_t block = 0, blocks = 0, words = 0;  // words per row: ceil(blocks / 32)
  std::vector<std::uint32_t> bits;
};

// A band around the diagonal: query q attends keys q - left ... q + right. `none` is the widest
// band, causal the band with right = 0 and no left end, window:L:R a band of its own; the GPU
// kernels take any band (their per-tile key ranges are intervals).
struct Band {
  static constexpr std::int64_t kUnbounded = std::int64_t{1} << 62;
  std::int64_t left = kUnbounded, right = kUnbounded;
};

// The pattern as a few terms a kernel tests per pair without calling back into the pattern: a
// pair is allowed when the band, the global tokens or the block map allows it (a union), and
// then, under `causal`, only when k <= q, and with `segment`, only when both lie in the same
// segment of that many positions. The GPU kernels use it inside partially covered tiles.
struct MaskTerms {
  std::optional<Band> band;  // q - left <= k <= q + right
  std::int64_t globals = 0;  // q < globals or k < globals
  bool block_map = false;    // the kept blocks of block_map()
  std::int64_t block = 0;    // with block_map: tokens per block
  bool causal = false;
  std::int64_t segment = 0;  // > 0: q / segment == k / segment
};

class AttentionPattern {
 public:
  virtual ~AttentionPattern() = default;

  // The spec in canonical form ("window:4095:0", "dilated:2048,4096:1,2+causal"): parsing it
  // again gives the same pattern.
  virtual std::string spec() const = 0;
  // `none` or `causal` when the pattern is one of the two dense masks; nullopt for the others.
  virtual std::optional<MaskKind> dense_kind() const { return std::nullopt; }
  // The pattern as one band, when it is one (none, causal, window); nullopt for the others.
  virtual std::optional<Band> band() const { return std::nullopt; }
  // The pattern as MaskTerms, when it is head-uniform, has one branch and can be written so
  // (none, causal, window, longformer, bigbird, blocksparse, dilated:W:1); nullopt otherwise.
  virtual std::optional<MaskTerms> mask_terms() const;
  // Branches merged by their softmax denominators (see above); 1 for all but dilated.
  virtual int branches() const { return 1; }
  // Heads h and h + head_period() see the same pattern: 1 for all but dilated, where it is the
  // least common multiple of the dilation rates (the head picks the offset h mod r).
  virtual int head_period() const { return 1; }

  // Whether query position q of head `head` attends key position k in branch `branch`.
  virtual bool allows(std::int64_t q, std::int64_t k, int head, int branch) const = 0;
  // For every q in [q_first, q_last] and k in [k_first, k_last] (every integer position in the
  // box, whether or not a token of the rank is there), in one head and branch: none when no pair
  // is allowed, full when all are, partial otherwise. Partial may be conservative; none and full
  // are never wrong.
  virtual Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                            std::int64_t k_last, int head, int branch) const = 0;
  // Exact number of allowed (q, k) pairs between the tokens of two runs for one head, summed over
  // the branches (with multiplicity). Fast: closed forms or O(run length), never O(n·m).
  virtual std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int head) const;
  // Exactly the keys in [0, seq_len) that query position q attends in one head and branch, as
  // ascending disjoint runs, local_start counting the keys of the runs before (their index in the
  // list). What a row-wise reference needs: its cost is the keys a row attends, not seq_len. The
  // default bisects the key range with coverage() (none: skipped, full: one run) and tests a few
  // keys with allows() where boxes stay partial; patterns with a closed form override it.
  virtual std::vector<PositionRun> allowed_keys(std::int64_t q, int head, int branch,
                                                std::int64_t seq_len) const;

  // The rows of a key block (its tokens `k_runs`) that the kernels read for queries `q_runs` in
  // heads 0 .. heads-1, by local index; nullopt: every row. A generated block (an emulated ring's)
  // needs only these: dilated pairs gather every rate-th row, so the far steps of a LongNet ring
  // read a few rows of each block.
  virtual std::optional<std::vector<RowSelection>> key_rows_read(
      std::span<const PositionRun> q_runs, std::span<const PositionRun> k_runs,
      std::int64_t heads) const {
    (void)q_runs, (void)k_runs, (void)heads;
    return std::nullopt;
  }
  // How many rows key_rows_read names (all of k_runs' where it names every row).
  virtual std::int64_t key_rows_read_count(std::span<const PositionRun> q_runs,
                                           std::span<const PositionRun> k_runs,
                                           std::int64_t heads) const;
  // Whether key_rows_read may name fewer than all rows (then only those travel the ring).
  virtual bool reads_row_subsets() const { return false; }

  // The block map a random pattern drew; empty (blocks 0) for the others.
  virtual BlockMap block_map() const { return {}; }
  // The same as bits, as the GPU kernels read it. Patterns with large maps (blocksparse: 65536
  // blocks a side) override it so that no byte-per-block matrix is ever built.
  virtual BlockBitmap block_bitmap() const;

  // Number of branches allowing (q, k) for `head`: the pair's weight in the softmax.
  int multiplicity(std::int64_t q, std::int64_t k, int head) const;
};

class FullPattern final : public AttentionPattern {
 public:
  std::string spec() const override { return "none"; }
  std::optional<MaskKind> dense_kind() const override { return MaskKind::none; }
  std::optional<Band> band() const override { return Band{}; }
  bool allows(std::int64_t, std::int64_t, int, int) const override { return true; }
  Coverage coverage(std::int64_t, std::int64_t, std::int64_t, std::int64_t, int,
                    int) const override {
    return Coverage::full;
  }
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int) const override {
    return q.length * k.length;
  }
};

// A query attends to keys at the same or earlier positions.
class CausalPattern final : public AttentionPattern {
 public:
  std::string spec() const override { return "causal"; }
  std::optional<MaskKind> dense_kind() const override { return MaskKind::causal; }
  std::optional<Band> band() const override { return Band{Band::kUnbounded, 0}; }
  bool allows(std::int64_t q, std::int64_t k, int, int) const override { return k <= q; }
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last, int, int) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int) const override;
};

// Exact allowed pairs (with multiplicity) between two sets of runs (one rank's queries, another
// rank's keys) for one head.
std::int64_t count_allowed(const AttentionPattern& pattern, std::span<const PositionRun> q_runs,
                           std::span<const PositionRun> k_runs, int head);

// The same summed over `heads` query heads (each distinct head of the period counted once).
std::int64_t count_allowed_all_heads(const AttentionPattern& pattern,
                                     std::span<const PositionRun> q_runs,
                                     std::span<const PositionRun> k_runs, std::int64_t heads);

// Whether any pair of the two run sets is allowed in any head and branch (a ring step with none
// computes nothing and launches nothing).
bool any_allowed(const AttentionPattern& pattern, std::span<const PositionRun> q_runs,
                 std::span<const PositionRun> k_runs, std::int64_t heads);

}  // namespace ringbench
