// StepTimer on the GPU: events recorded on the compute stream, so compute is what the kernels
// took and wait is how long the stream sat on the next block's arrival. NVTX ranges name every
// step for Nsight Systems.
#pragma once

#include <vector>

#include "distributed/cuda/CudaHandles.hpp"
#include "ring/StepTimer.hpp"

namespace ringbench {

class CudaStepTimer final : public StepTimer {
 public:
  CudaStepTimer(cudaStream_t compute, int steps);
  void iteration_begin() override;
  void compute_begin(int step) override;
  void compute_end(int step) override;
  void wait_end(int step) override;
  void iteration_end() override;
  IterationTiming collect(int steps) override;  // after the stream has completed

 private:
  cudaStream_t stream_;
  CudaEvent begin_, end_;
  std::vector<CudaEvent> compute_begin_, compute_end_, wait_end_;
};

}  // namespace ringbench
