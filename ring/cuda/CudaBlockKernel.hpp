// BlockKernel on the GPU: the own flash kernel or the simple reference kernel, on the compute
// stream. Token positions live on the device (the kernels judge masks from them); the block
// owner's positions are filled each step by a tiny kernel, so nothing crosses from the host.
#pragma once

#include <memory>
#include <optional>

#include "core/BenchmarkCase.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "flash/BlockAttention.cuh"
#include "ring/BlockKernel.hpp"
#include "ring/cuda/DevicePatternMask.hpp"
#include "ring/cuda/DevicePositions.hpp"

namespace ringbench {

class DilatedBranches;

class CudaBlockKernel final : public BlockKernel {
 public:
  CudaBlockKernel(const ProblemSpec& spec, KernelKind kind, std::int64_t local_len,
                  cudaStream_t stream);
  ~CudaBlockKernel() override;
  std::string name() const override;
  void reset(float* o, float* lse) override;
  void attend(const void* q, const void* kv, const BlockMask& mask, float* o, float* lse) override;

  // Attention of `q` (positions q_runs) against `kv_len` keys at `k`, `v` (positions kv_runs)
  // under `pattern` (a band, or the case's own pattern), merged into o/lse: the step above, and
  // the reference check's chunks.
  void attend_raw(const void* q, std::span<const PositionRun> q_runs, const void* k, const void* v,
                  std::int64_t kv_len, std::span<const PositionRun> kv_runs,
                  const AttentionPattern& pattern, float* o, float* lse, KernelKind kind);

 private:
  ProblemSpec spec_;
  KernelKind kind_;
  std::int64_t n_;
  cudaStream_t stream_;
  DevicePositions positions_;
  std::optional<DevicePatternMask> pattern_mask_;  // the case's pattern, when it has terms
  std::unique_ptr<DilatedBranches> dilated_;       // the case's pattern, when it is dilated
};

}  // namespace ringbench
