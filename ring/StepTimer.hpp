// Per-step timing of one ring iteration. The host implementation reads a clock; the GPU one
// records events on the compute stream, so the same calls in the ring measure either.
#pragma once

#include <numeric>
#include <vector>

namespace ringbench {

struct IterationTiming {
  std::vector<double> compute_ms;  // [steps] attention work of each step
  std::vector<double> wait_ms;     // [steps] compute idle, waiting for the next block
  std::vector<double> comm_ms;     // [steps] the transfer itself (0 on the last step)
  double total_ms = 0;             // the device's view (events), from the first step to the last
  double wall_ms = 0;  // the host's view of the same iteration, synchronised: a cross-check
};

// A virtual rank's time in an iteration: the ranks of one process take turns, so each one's total
// is the sum of its steps.
inline double own_steps_ms(const IterationTiming& t) {
  return std::accumulate(t.compute_ms.begin(), t.compute_ms.end(), 0.0) +
         std::accumulate(t.wait_ms.begin(), t.wait_ms.end(), 0.0);
}

class StepTimer {
 public:
  virtual ~StepTimer() = default;
  virtual void iteration_begin() = 0;
  virtual void compute_begin(int step) = 0;
  virtual void compute_end(int step) = 0;
  virtual void wait_end(int step) = 0;  // the next block is ready (or there is none)
  virtual void iteration_end() = 0;
  // After the iteration's work has completed: compute_ms, wait_ms and total_ms filled.
  virtual IterationTiming collect(int steps) = 0;
};

}  // namespace ringbench
