// Which (query, key) pairs may attend, judged from global token positions only. The ring and the
// kernels ask a pattern about boxes of positions, so a new pattern (sliding window, dilated,
// block-sparse) is one new class here and nothing changes in the ring.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/ProblemSpec.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

enum class Coverage { none, partial, full };

class AttentionPattern {
 public:
  virtual ~AttentionPattern() = default;
  virtual MaskKind kind() const = 0;
  virtual bool allows(std::int64_t q, std::int64_t k) const = 0;
  // For every q in [q_first, q_last] and k in [k_first, k_last]: none when no pair is allowed,
  // full when all are, partial otherwise (partial may be conservative, never none/full wrongly).
  virtual Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                            std::int64_t k_last) const = 0;
  // Exact number of allowed pairs between the tokens of two runs.
  virtual std::int64_t count_allowed(const PositionRun& q, const PositionRun& k) const;
};

class FullPattern final : public AttentionPattern {
 public:
  MaskKind kind() const override { return MaskKind::none; }
  bool allows(std::int64_t, std::int64_t) const override { return true; }
  Coverage coverage(std::int64_t, std::int64_t, std::int64_t, std::int64_t) const override {
    return Coverage::full;
  }
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k) const override {
    return q.length * k.length;
  }
};

// A query attends to keys at the same or earlier positions.
class CausalPattern final : public AttentionPattern {
 public:
  MaskKind kind() const override { return MaskKind::causal; }
  bool allows(std::int64_t q, std::int64_t k) const override { return k <= q; }
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k) const override;
};

std::shared_ptr<const AttentionPattern> make_pattern(MaskKind kind);

// Exact allowed pairs between two sets of runs (one rank's queries, another rank's keys).
std::int64_t count_allowed(const AttentionPattern& pattern, std::span<const PositionRun> q_runs,
                           std::span<const PositionRun> k_runs);

}  // namespace ringbench
