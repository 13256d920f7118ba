// dilated:W1,W2,...:R1,R2,... — LongNet's dilated attention (Ding et al. 2023). Each pair
// (Wi, Ri) is one branch: the sequence is cut into segments of Wi tokens, and inside a segment a
// query and a key attend each other when both positions p have (p mod Wi) mod Ri = h mod Ri, the
// head h choosing the offset. As Ri divides Wi that is p mod Ri = h mod Ri. A query attends the
// union of its branches' keys with multiplicity (the branches' softmaxes are merged by their
// denominators); a query no branch selects attends nothing. +causal applies inside every branch.
#pragma once

#include <vector>

#include "core/AttentionPattern.hpp"

namespace ringbench {

struct DilatedBranch {
  std::int64_t segment = 0;   // Wi: tokens per segment, divides the sequence length
  std::int64_t dilation = 1;  // Ri: every Ri-th token of a segment, divides Wi
};

class DilatedPattern final : public AttentionPattern {
 public:
  DilatedPattern(std::vector<DilatedBranch> branches, bool causal);

  const std::vector<DilatedBranch>& branch_list() const { return branches_; }
  bool causal() const { return causal_; }
  // The position residue (mod Ri) that head `head` selects in branch `branch`.
  std::int64_t offset(int head, int branch) const { return head % branches_[branch].dilation; }

  std::string spec() const override;
  int branches() const override { return static_cast<int>(branches_.size()); }
  int head_period() const override { return head_period_; }
  bool allows(std::int64_t q, std::int64_t k, int head, int branch) const override;
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last, int head, int branch) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int head) const override;
  // One strided run: the selected keys of q's segment (up to q under +causal), none when q itself
  // is not selected. A rate-8192 row of a 1B-token segment is 131072 keys, found in O(1).
  std::vector<PositionRun> allowed_keys(std::int64_t q, int head, int branch,
                                        std::int64_t seq_len) const override;
  // Each pair reaching the block reads the rows of its heads' offsets (every rate-th row); a pair
  // of rate 1 reaching it reads all of them.
  std::optional<std::vector<RowSelection>> key_rows_read(std::span<const PositionRun> q_runs,
                                                         std::span<const PositionRun> k_runs,
                                                         std::int64_t heads) const override;
  std::int64_t key_rows_read_count(std::span<const PositionRun> q_runs,
                                   std::span<const PositionRun> k_runs,
                                   std::int64_t heads) const override;
  bool reads_row_subsets() const override;
  // One pair of rate 1 is dense attention inside segments: terms. This is what each pair of a
  // dilated pattern becomes once its selected rows are gathered (ring/cuda/DilatedBranches).
  std::optional<MaskTerms> mask_terms() const override;

 private:
  // The branches reaching some pair of the box, less those whose rows another of them reads.
  std::vector<int> branches_reading(std::span<const PositionRun> q_runs,
                                    std::span<const PositionRun> k_runs, std::int64_t heads) const;
  std::int64_t branch_count(const PositionRun& q, const PositionRun& k, int head, int branch) const;
  std::int64_t segment_count(const PositionRun& q, const PositionRun& k, std::int64_t segment,
                             std::int64_t w) const;
  bool segment_has_pair(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                        std::int64_t k_last, std::int64_t segment, std::int64_t w, std::int64_t r,
                        std::int64_t offset) const;

  std::vector<DilatedBranch> branches_;
  bool causal_;
  int head_period_;
};

}  // namespace ringbench
