// BlockBackwardKernel on the GPU with the own kernels (flash/): the tensor-core flash backward or
// the simple fp32 reference, on the compute stream. Masks are judged from token positions on the
// device, as in the forward (CudaBlockKernel), so every layout runs, striped included.
#pragma once

#include <optional>

#include "core/BenchmarkCase.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/BlockBackwardKernel.hpp"
#include "ring/cuda/DevicePatternMask.hpp"
#include "ring/cuda/DevicePositions.hpp"

namespace ringbench {

class CudaBackwardKernel final : public BlockBackwardKernel {
 public:
  CudaBackwardKernel(const ProblemSpec& spec, KernelKind kind, std::int64_t local_len,
                     cudaStream_t stream);
  std::string name() const override;
  void prepare(const BackwardInputs& in, float* dq) override;
  void attend_backward(const BackwardInputs& in, const void* kv, const BlockMask& mask, float* dq,
                       float* dkv) override;
  void accumulate(float* acc, const float* part, std::size_t count) override;

 private:
  ProblemSpec spec_;
  KernelKind kind_;
  std::int64_t n_;
  cudaStream_t stream_;
  DevicePositions positions_;
  std::optional<DevicePatternMask> pattern_mask_;  // sparse patterns: terms and tile lists
};

}  // namespace ringbench
