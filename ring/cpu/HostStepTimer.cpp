#include "ring/cpu/HostStepTimer.hpp"

namespace ringbench {

namespace {
double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
void put(std::vector<std::chrono::steady_clock::time_point>& v, int step) {
  if (static_cast<int>(v.size()) <= step) v.resize(static_cast<std::size_t>(step) + 1);
  v[static_cast<std::size_t>(step)] = std::chrono::steady_clock::now();
}
}  // namespace

void HostStepTimer::iteration_begin() {
  begin_ = Clock::now();
}
void HostStepTimer::compute_begin(int step) {
  put(compute_begin_, step);
}
void HostStepTimer::compute_end(int step) {
  put(compute_end_, step);
}
void HostStepTimer::wait_end(int step) {
  put(wait_end_, step);
}
void HostStepTimer::iteration_end() {
  end_ = Clock::now();
}

IterationTiming HostStepTimer::collect(int steps) {
  IterationTiming t;
  for (int s = 0; s < steps; ++s) {
    t.compute_ms.push_back(ms(compute_end_[s] - compute_begin_[s]));
    t.wait_ms.push_back(ms(wait_end_[s] - compute_end_[s]));
  }
  t.total_ms = ms(end_ - begin_);
  return t;
}

}  // namespace ringbench
