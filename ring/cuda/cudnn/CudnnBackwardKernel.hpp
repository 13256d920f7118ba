// BlockBackwardKernel on cuDNN (SDPA backward): each ring step's mask is cut into the same dense or
// causal-diagonal rectangles as the forward's; cuDNN writes each rectangle's dQ, dK, dV in the
// input type into scratch buffers, which are added into the fp32 accumulators. cuDNN reads O in
// the input type: prepare() rounds the fp32 O once per pass.
#pragma once

#include <memory>
#include <span>

#include "core/ProblemSpec.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/BlockBackwardKernel.hpp"
#include "ring/BlockRectangles.hpp"
#include "ring/cuda/cudnn/CudnnSdpa.hpp"

namespace ringbench {

class CudnnBackwardKernel final : public BlockBackwardKernel {
 public:
  // Builds the backward graph of every step's rectangles (throws LibraryError with cuDNN's message
  // when cuDNN cannot run a shape).
  CudnnBackwardKernel(const ProblemSpec& spec, std::int64_t local_len,
                      std::span<const BlockMask> steps, std::shared_ptr<CudnnSdpa> sdpa,
                      cudaStream_t stream);
  std::string name() const override { return "cudnn"; }
  void prepare(const BackwardInputs& in, float* dq) override;
  void attend_backward(const BackwardInputs& in, const void* kv, const BlockMask& mask, float* dq,
                       float* dkv) override;
  void accumulate(float* acc, const float* part, std::size_t count) override;

  // Device bytes it holds (the scratch gradients, the rounded O, cuDNN's workspace), and what that
  // will be, for the memory plan.
  std::size_t device_bytes() const;
  static std::size_t plan_bytes(const ProblemSpec& spec, std::int64_t local_len,
                                std::span<const BlockMask> steps, CudnnSdpa& sdpa);

 private:
  // The forward's LSE of the rectangle's rows, packed as cuDNN's backward wants its stats.
  const float* packed_stats(const float* lse, const BlockRectangle& r);

  ProblemSpec spec_;
  std::int64_t n_;
  std::shared_ptr<CudnnSdpa> sdpa_;
  cudaStream_t stream_;
  DeviceBuffer o_low_, dq_part_, dkv_part_, stats_, workspace_;
};

}  // namespace ringbench
