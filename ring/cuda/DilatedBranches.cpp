#include "ring/cuda/DilatedBranches.hpp"
#include "ring/MemoryPlan.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/PatternSpec.hpp"
#include "ring/cuda/CudaBlockKernel.hpp"
#include "ring/cuda/DilatedRows.cuh"

namespace ringbench {

std::vector<PositionRun> dilated_runs(std::span<const PositionRun> runs, std::int64_t rate) {
  std::vector<PositionRun> gathered;
  for (const PositionRun& r : runs) {
    if (r.stride != 1 || r.local_start % rate != 0 || r.global_start % rate != 0 ||
        r.length % rate != 0)
      throw std::logic_error("dilated rows: a run of positions is not whole in rate " +
                             std::to_string(rate));
    gathered.push_back({r.local_start / rate, r.global_start / rate, r.length / rate, 1});
  }
  return gathered;
}

std::int64_t smallest_rate(const DilatedPattern& pattern) {
  std::int64_t rate = pattern.branch_list().front().dilation;
  for (const DilatedBranch& b : pattern.branch_list()) rate = std::min(rate, b.dilation);
  return rate;
}

ProblemSpec dilated_pair_spec(const ProblemSpec& spec, const DilatedBranch& b, bool causal) {
  ProblemSpec s = spec;
  s.kv_heads = spec.heads;
  s.seq_len = spec.seq_len / b.dilation;
  s.mask = "dilated:" + std::to_string(b.segment / b.dilation) + ":1" + (causal ? "+causal" : "");
  return s;
}

DilatedBranches::DilatedBranches(const ProblemSpec& spec, const DilatedPattern& pattern,
                                 std::int64_t local_len, cudaStream_t stream)
    : spec_(spec), n_(local_len), stream_(stream) {
  for (const DilatedBranch& b : pattern.branch_list()) {
    Branch branch;
    branch.rate = static_cast<int>(b.dilation);
    const ProblemSpec sub = dilated_pair_spec(spec, b, pattern.causal());
    branch.pattern = make_pattern(sub.mask, sub.seq_len);
    branch.kernel =
        std::make_unique<CudaBlockKernel>(sub, KernelKind::flash, local_len / b.dilation, stream);
    branches_.push_back(std::move(branch));
  }
  const std::int64_t rows = local_len / smallest_rate(pattern);
  const std::size_t e = element_bytes(spec.dtype);
  q_ = DeviceBuffer(gathered_bytes(spec, rows, e, spec.head_dim));
  o_ = DeviceBuffer(gathered_bytes(spec, rows, sizeof(float), spec.head_dim));
  lse_ = DeviceBuffer(gathered_bytes(spec, rows, sizeof(float), 1));
  reserve_keys(local_len);
}

DilatedBranches::~DilatedBranches() = default;

void DilatedBranches::reserve_keys(std::int64_t kv_len) {
  if (kv_len <= key_rows_) return;
  const std::size_t bytes =
      gathered_bytes(spec_, kv_len, element_bytes(spec_.dtype), spec_.head_dim);
  k_ = DeviceBuffer(bytes);  // gathered rows of the smallest rate fit in kv_len rows
  v_ = DeviceBuffer(bytes);
  key_rows_ = kv_len;
}

void DilatedBranches::attend(const void* q, std::span<const PositionRun> q_runs, const void* k,
                             const void* v, std::int64_t kv_len,
                             std::span<const PositionRun> kv_runs, float* o, float* lse,
                             KernelKind kind) {
  reserve_keys(kv_len);
  const int batch = static_cast<int>(spec_.batch), heads = static_cast<int>(spec_.heads);
  const int group = static_cast<int>(spec_.group_size());
  const std::int64_t value_row =
      spec_.head_dim * static_cast<std::int64_t>(element_bytes(spec_.dtype));
  const std::int64_t output_row = spec_.head_dim * static_cast<std::int64_t>(sizeof(float));
  for (Branch& b : branches_) {
    // kept while unchanged: the kernel's device positions are keyed by the runs' address
    if (std::vector<PositionRun> gathered_q = dilated_runs(q_runs, b.rate); gathered_q != b.q_runs)
      b.q_runs = std::move(gathered_q);
    b.kv_runs = dilated_runs(kv_runs, b.rate);
    // a pair whose segments this block does not reach costs nothing (far steps of a long ring)
    if (!any_allowed(*b.pattern, b.q_runs, b.kv_runs, spec_.heads)) continue;
    const DilatedRows queries{batch, heads, 1, n_, b.rate, value_row};
    const DilatedRows keys{batch, heads, group, kv_len, b.rate, value_row};
    const DilatedRows outputs{batch, heads, 1, n_, b.rate, output_row};
    const DilatedRows sums{batch, heads, 1, n_, b.rate, sizeof(float)};
    gather_dilated_rows(queries, q, q_.get(), stream_);
    gather_dilated_rows(keys, k, k_.get(), stream_);
    gather_dilated_rows(keys, v, v_.get(), stream_);
    gather_dilated_rows(outputs, o, o_.get(), stream_);
    gather_dilated_rows(sums, lse, lse_.get(), stream_);
    b.kernel->attend_raw(q_.get(), b.q_runs, k_.get(), v_.get(), keys.rows(), b.kv_runs, *b.pattern,
                         o_.get<float>(), lse_.get<float>(), kind);
    scatter_dilated_rows(outputs, o_.get(), o, stream_);
    scatter_dilated_rows(sums, lse_.get(), lse, stream_);
  }
}

}  // namespace ringbench
