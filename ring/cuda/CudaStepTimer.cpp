#include "ring/cuda/CudaStepTimer.hpp"

#include <nvtx3/nvToolsExt.h>

#include <string>

namespace ringbench {

CudaStepTimer::CudaStepTimer(cudaStream_t compute, int steps)
    : stream_(compute),
      compute_begin_(static_cast<std::size_t>(steps)),
      compute_end_(static_cast<std::size_t>(steps)),
      wait_end_(static_cast<std::size_t>(steps)) {}

void CudaStepTimer::iteration_begin() {
  nvtxRangePushA("ring iteration");
  begin_.record(stream_);
}

void CudaStepTimer::compute_begin(int step) {
  nvtxRangePushA(("step " + std::to_string(step)).c_str());
  compute_begin_[step].record(stream_);
}

void CudaStepTimer::compute_end(int step) {
  compute_end_[step].record(stream_);
}

void CudaStepTimer::wait_end(int step) {
  wait_end_[step].record(stream_);
  nvtxRangePop();
}

void CudaStepTimer::iteration_end() {
  end_.record(stream_);
  nvtxRangePop();
}

IterationTiming CudaStepTimer::collect(int steps) {
  IterationTiming t;
  for (int s = 0; s < steps; ++s) {
    t.compute_ms.push_back(compute_end_[s].since(compute_begin_[s]));
    t.wait_ms.push_back(wait_end_[s].since(compute_end_[s]));
  }
  t.total_ms = end_.since(begin_);
  return t;
}

}  // namespace ringbench
