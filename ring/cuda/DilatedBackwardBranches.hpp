// The backward of LongNet's dilated attention on the GPU, the forward's way round
// (DilatedBranches): for each (segment W, rate r) pair, every head's selected query rows (with
// dO, the final LSE and D) and key rows are gathered, the pair's backward runs densely on the
// gathered rows as the pattern dilated:W/r:1 (the own kernels' mask terms), and the gradients go
// back: dQ rows in place, dK/dV rows summed into their kv heads. With the final LSE, every pair's
// P is its share of the merged softmax, so the pairs' gradients add up to the whole pattern's
// (LongNet's mixing by softmax denominators needs no extra term).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "core/patterns/DilatedPattern.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/cuda/CudaBackwardKernel.hpp"

namespace ringbench {

class DilatedBackwardBranches {
 public:
  DilatedBackwardBranches(const ProblemSpec& spec, const DilatedPattern& pattern,
                          std::int64_t local_len, cudaStream_t stream);
  ~DilatedBackwardBranches();

  // As CudaBackwardKernel::attend_backward_raw for the pattern the object was made for.
  void attend_backward(const BackwardBlock& b, KernelKind kind);

 private:
  struct Branch {
    int rate = 1;
    std::shared_ptr<const AttentionPattern> pattern;  // dilated:W/r:1 on S / r
    std::unique_ptr<CudaBackwardKernel> kernel;       // heads = kv heads = the query heads
    std::vector<PositionRun> q_runs, kv_runs;         // the gathered rows' runs
  };
  void reserve(std::int64_t q_len, std::int64_t kv_len);

  ProblemSpec spec_;
  cudaStream_t stream_;
  std::int64_t min_rate_;
  std::vector<Branch> branches_;
  std::int64_t q_rows_ = 0, kv_rows_ = 0;    // full rows the gathered buffers are sized for
  DeviceBuffer q_, d_o_, lse_, delta_, dq_;  // the queries' side, rows / min rate
  DeviceBuffer k_, v_, dk_, dv_;             // the keys' side, per query head
};

}  // namespace ringbench
