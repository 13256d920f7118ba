// BlockKernel on cuDNN: each ring step's mask is cut into dense rectangles (all pairs, or causal
// on the diagonal), each computed by cuDNN SDPA into a scratch O/LSE and merged into the running
// fp32 result by one vectorised pass over its rows.
#pragma once

#include <memory>
#include <span>

#include "core/ProblemSpec.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/BlockKernel.hpp"
#include "ring/cuda/cudnn/CudnnSdpa.hpp"

namespace ringbench {

class CudnnBlockKernel final : public BlockKernel {
 public:
  // Graphs for every step's rectangles are built here (before the run's buffers are allocated);
  // throws LibraryError with cuDNN's message when cuDNN cannot run a shape.
  CudnnBlockKernel(const ProblemSpec& spec, std::int64_t local_len,
                   std::span<const BlockMask> steps, std::shared_ptr<CudnnSdpa> sdpa,
                   cudaStream_t stream);
  std::string name() const override { return "cudnn"; }
  void reset(float* o, float* lse) override;
  void attend(const void* q, const void* kv, const BlockMask& mask, float* o, float* lse) override;

  // Device bytes it holds: the scratch O and LSE of a block and cuDNN's workspace.
  std::size_t device_bytes() const {
    return scratch_o_.bytes() + scratch_lse_.bytes() + workspace_.bytes();
  }
  // What device_bytes() will be, for the memory plan (graphs built and cached on the way).
  static std::size_t plan_bytes(const ProblemSpec& spec, std::int64_t local_len,
                                std::span<const BlockMask> steps, CudnnSdpa& sdpa);

 private:
  ProblemSpec spec_;
  std::int64_t n_;
  std::shared_ptr<CudnnSdpa> sdpa_;
  cudaStream_t stream_;
  DeviceBuffer scratch_o_, scratch_lse_, workspace_;
};

}  // namespace ringbench
