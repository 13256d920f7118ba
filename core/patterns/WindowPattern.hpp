// window:L:R — query q attends keys q - L ... q + R (a band around the diagonal).
// window:4095:0 is Mistral's causal sliding window of 4096 keys; +causal cuts the band at the
// diagonal, so window:L:R+causal allows what window:L:0 allows.
#pragma once

#include "core/AttentionPattern.hpp"

namespace ringbench {

class WindowPattern final : public AttentionPattern {
 public:
  WindowPattern(std::int64_t left, std::int64_t right, bool causal);

  std::int64_t left() const { return left_; }
  std::int64_t right() const { return right_; }  // as written; reach() is what is allowed
  bool causal() const { return causal_; }
  // Keys up to q + reach() are allowed: right(), or 0 under +causal.
  std::int64_t reach() const { return causal_ ? 0 : right_; }

  std::string spec() const override;
  std::optional<Band> band() const override { return Band{left_, reach()}; }
  bool allows(std::int64_t q, std::int64_t k, int, int) const override {
    return k >= q - left_ && k <= q + reach();
  }
  Coverage coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                    std::int64_t k_last, int, int) const override;
  std::int64_t count_allowed(const PositionRun& q, const PositionRun& k, int) const override;
  // The band clipped to the sequence: one run.
  std::vector<PositionRun> allowed_keys(std::int64_t q, int, int,
                                        std::int64_t seq_len) const override;

 private:
  std::int64_t left_, right_;
  bool causal_;
};

// Coverage of a box by the band q + lo <= k <= q + hi (exact): shared with longformer.
Coverage band_coverage(std::int64_t q_first, std::int64_t q_last, std::int64_t k_first,
                       std::int64_t k_last, std::int64_t lo, std::int64_t hi);

}  // namespace ringbench
