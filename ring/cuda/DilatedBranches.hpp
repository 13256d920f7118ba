// LongNet's dilated attention on the GPU, computed the LongNet way rather than as a mask over
// dense tiles: for each (segment W, rate r) pair, every head's selected rows (offset head mod r,
// then every r-th token) are gathered into dense blocks, attended densely inside their segments by
// the own kernels (the pair is then the pattern dilated:W/r:1 on a sequence r times shorter, a
// MaskTerms pattern), and the gathered running output is written back, so the pairs meet in the
// running log-sum-exp merge exactly as LongNet mixes them by their softmax denominators.
//
// The gathered rows of a rank must be whole: every run of its positions (and the reference
// check's chunks) starts and ends on a multiple of every rate, with stride 1 (contiguous and
// zigzag shards of the right size; validate() refuses the others before any work).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "core/BenchmarkCase.hpp"
#include "core/patterns/DilatedPattern.hpp"
#include "distributed/cuda/CudaHandles.hpp"

namespace ringbench {

class CudaBlockKernel;

class DilatedBranches {
 public:
  DilatedBranches(const ProblemSpec& spec, const DilatedPattern& pattern, std::int64_t local_len,
                  cudaStream_t stream);
  ~DilatedBranches();

  // As CudaBlockKernel::attend_raw, for the dilated pattern the object was made for.
  void attend(const void* q, std::span<const PositionRun> q_runs, const void* k, const void* v,
              std::int64_t kv_len, std::span<const PositionRun> kv_runs, float* o, float* lse,
              KernelKind kind);

 private:
  struct Branch {
    int rate = 1;
    std::shared_ptr<const AttentionPattern> pattern;  // dilated:W/r:1 on S / r
    std::unique_ptr<CudaBlockKernel> kernel;          // heads = kv heads = the query heads
    std::vector<PositionRun> q_runs, kv_runs;         // the gathered rows' runs
  };
  void reserve_keys(std::int64_t rows);

  ProblemSpec spec_;
  std::int64_t n_;
  cudaStream_t stream_;
  std::vector<Branch> branches_;
  std::int64_t key_rows_ = 0;  // gathered key rows the buffers hold
  DeviceBuffer q_, k_, v_, o_, lse_;
};

// What the gathered problem of one pair is: every query head with its own keys, a sequence
// r times shorter, dense inside segments of W / r (the pattern dilated:W/r:1).
ProblemSpec dilated_pair_spec(const ProblemSpec& spec, const DilatedBranch& pair, bool causal);
// The smallest rate of the pattern's pairs: the one that gathers the most rows.
std::int64_t smallest_rate(const DilatedPattern& pattern);

// The runs of the rows a pair of rate `rate` gathers from `runs`; throws std::logic_error where
// a run is not whole in rate.
std::vector<PositionRun> dilated_runs(std::span<const PositionRun> runs, std::int64_t rate);

}  // namespace ringbench
