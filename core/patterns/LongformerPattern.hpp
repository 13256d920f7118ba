// longformer:L:R:G — window:L:R plus G global tokens (positions 0 .. G-1) that attend to, and
// are attended by, every token. Under +causal a global query still sees only keys at or before
// it, and every query sees the global keys before it.
#pragma once

#include "core/AttentionPattern.hpp"

namespace ringbench {

class LongformerPattern final : public AttentionPattern {
 public:
  LongformerPattern(std::int64_t left, std::int64_t right, std::int64_t globals, bool causal);

  std::int64_t left() const { return left_; }
  std::int64_t right() const { return right_; }
  std::int64_t globals() const { return globals_; }
  bool causal() const { return causal_; }
  std::int64_t reach() const { return causal_ ? 0 : right_; }  // as WindowPattern::reach

  std::string spec() const override;
  bool allows(std::int64_t q, std::int64_t k, int, int) const override {
    if (causal_ && k > q) return false;
    return q < globals_ || k < globals_ || (k >= q - left_ && k <= q + right_);
  }
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last, int, int) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int) const override;
  std::optional<MaskTerms> mask_terms() const override {
    return MaskTerms{Band{left_, right_}, globals_, false, 0, causal_, 0};
  }

 private:
  Coverage coverage_without_causal(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                                   std::int64_t k_last) const;

  std::int64_t left_, right_, globals_;
  bool causal_;
};

}  // namespace ringbench
