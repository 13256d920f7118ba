// BlockBackwardKernel on the GPU with the own kernels (flash/): the tensor-core flash backward or
// the simple fp32 reference, on the compute stream. Masks are judged from token positions on the
// device, as in the forward (CudaBlockKernel), so every layout runs, striped included; dilated
// patterns of several pairs or rates run as gathered pairs (DilatedBackwardBranches).
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "core/BenchmarkCase.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/BlockBackwardKernel.hpp"
#include "ring/cuda/DevicePatternMask.hpp"
#include "ring/cuda/DevicePositions.hpp"

namespace ringbench {

class DilatedBackwardBranches;

// One block of the backward on device buffers: `q_len` queries with their final LSE and D
// against `kv_len` keys, laid out as in BlockBackwardKernel. dq is added to; dk and dv are
// overwritten with the gradients from these queries.
struct BackwardBlock {
  const void* q;
  const void* d_o;
  const float* lse;
  const float* delta;
  std::int64_t q_len;
  std::span<const PositionRun> q_runs;
  const void* k;
  const void* v;
  std::int64_t kv_len;
  std::span<const PositionRun> kv_runs;
  float* dq;
  float* dk;
  float* dv;
};

class CudaBackwardKernel final : public BlockBackwardKernel {
 public:
  CudaBackwardKernel(const ProblemSpec& spec, KernelKind kind, std::int64_t local_len,
                     cudaStream_t stream);
  ~CudaBackwardKernel() override;
  std::string name() const override;
  void prepare(const BackwardInputs& in, float* dq) override;
  void attend_backward(const BackwardInputs& in, const void* kv, const BlockMask& mask, float* dq,
                       float* dkv) override;
  void accumulate(float* acc, const float* part, std::size_t count) override;

  // The step above on any block under `pattern` (the case's, or a band): also the gradient
  // reference's chunks.
  void attend_backward_raw(const BackwardBlock& b, const AttentionPattern& pattern,
                           KernelKind kind);

 private:
  ProblemSpec spec_;
  KernelKind kind_;
  std::int64_t n_;
  cudaStream_t stream_;
  DevicePositions positions_;
  std::string pattern_spec_;                          // the case's pattern, as it writes itself
  std::optional<DevicePatternMask> pattern_mask_;     // sparse patterns: terms and tile lists
  std::unique_ptr<DilatedBackwardBranches> dilated_;  // dilated patterns without terms
};

}  // namespace ringbench
