// StepTimer on the host's monotonic clock, for backends whose work is synchronous.
#pragma once

#include <chrono>
#include <vector>

#include "ring/StepTimer.hpp"

namespace ringbench {

class HostStepTimer final : public StepTimer {
 public:
  void iteration_begin() override;
  void compute_begin(int step) override;
  void compute_end(int step) override;
  void wait_end(int step) override;
  void iteration_end() override;
  IterationTiming collect(int steps) override;

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point begin_, end_;
  std::vector<Clock::time_point> compute_begin_, compute_end_, wait_end_;
};

}  // namespace ringbench
