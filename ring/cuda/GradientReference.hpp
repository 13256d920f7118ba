// The backward check's reference on the GPU, for problems the host float64 reference
// (ring/BackwardCheck.cpp) cannot reach in reasonable time: the fp32 reference kernels over the
// whole sequence, in chunks of keys (this rank's dQ) and of queries (its keys' dK, dV), with
// every query's LSE and D taken from the reference forward, never from the run being checked.
#pragma once

#include <memory>
#include <span>

#include "core/ProblemSpec.hpp"
#include "core/ReferenceBackward.hpp"
#include "core/SequenceLayout.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/RankBackend.hpp"
#include "ring/cuda/CudaBackwardKernel.hpp"

namespace ringbench {

// What one rank holds of the run being checked (device pointers) and which tokens it owns.
struct RankTensors {
  std::span<const PositionRun> runs;
  const void* q;
  const void* d_o;
  const void* kv;  // K then V
  const float* dq;
  const float* dkv;  // the finished dK then dV of this rank's keys
};

class GradientReference {
 public:
  GradientReference(const ProblemSpec& spec, std::int64_t local_len, cudaStream_t stream);

  // This rank's rows: D = rowsum(dO ∘ O_ref) from the reference output; returns LSE and D.
  RowStats row_stats(const float* ref_o, const float* ref_lse, const void* d_o);
  // Frobenius sums of the rank's gradients against the reference; `all` holds every query's LSE
  // and D, [batch*heads, seq_len] in position order.
  GradientSums compare(std::uint64_t seed, const RankTensors& rank, const RowStats& all);

 private:
  void reference_dq(std::uint64_t seed, const RankTensors& rank, float* dq_ref);
  void reference_dkv(std::uint64_t seed, const RankTensors& rank, const RowStats& all,
                     float* dkv_ref);

  ProblemSpec spec_;
  std::int64_t n_, chunk_;
  cudaStream_t stream_;
  DeviceBuffer lse_, delta_;  // this rank's rows, from row_stats()
  std::shared_ptr<const AttentionPattern> pattern_;
  CudaBackwardKernel kernel_;  // the fp32 reference kernels, the pattern's GPU forms
};

}  // namespace ringbench
