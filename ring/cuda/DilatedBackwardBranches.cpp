#include "ring/cuda/DilatedBackwardBranches.hpp"
#include "ring/MemoryPlan.hpp"

#include "core/PatternSpec.hpp"
#include "distributed/cuda/CudaCheck.hpp"
#include "ring/cuda/DilatedBranches.hpp"
#include "ring/cuda/DilatedRows.cuh"

namespace ringbench {

DilatedBackwardBranches::DilatedBackwardBranches(const ProblemSpec& spec,
                                                 const DilatedPattern& pattern,
                                                 std::int64_t local_len, cudaStream_t stream)
    : spec_(spec), stream_(stream), min_rate_(smallest_rate(pattern)) {
  for (const DilatedBranch& b : pattern.branch_list()) {
    const ProblemSpec sub = dilated_pair_spec(spec, b, pattern.causal());
    Branch branch;
    branch.rate = static_cast<int>(b.dilation);
    branch.pattern = make_pattern(sub.mask, sub.seq_len);
    branch.kernel = std::make_unique<CudaBackwardKernel>(sub, KernelKind::flash,
                                                         local_len / b.dilation, stream);
    branches_.push_back(std::move(branch));
  }
  reserve(local_len, local_len);
}

DilatedBackwardBranches::~DilatedBackwardBranches() = default;

void DilatedBackwardBranches::reserve(std::int64_t q_len, std::int64_t kv_len) {
  const std::size_t e = element_bytes(spec_.dtype), f = sizeof(float);
  const std::int64_t d = spec_.head_dim;
  if (q_len > q_rows_) {
    const std::int64_t rows = q_len / min_rate_;
    q_ = DeviceBuffer(gathered_bytes(spec_, rows, e, d));
    d_o_ = DeviceBuffer(gathered_bytes(spec_, rows, e, d));
    dq_ = DeviceBuffer(gathered_bytes(spec_, rows, f, d));
    lse_ = DeviceBuffer(gathered_bytes(spec_, rows, f, 1));
    delta_ = DeviceBuffer(gathered_bytes(spec_, rows, f, 1));
    q_rows_ = q_len;
  }
  if (kv_len > kv_rows_) {
    const std::int64_t rows = kv_len / min_rate_;
    k_ = DeviceBuffer(gathered_bytes(spec_, rows, e, d));
    v_ = DeviceBuffer(gathered_bytes(spec_, rows, e, d));
    dk_ = DeviceBuffer(gathered_bytes(spec_, rows, f, d));
    dv_ = DeviceBuffer(gathered_bytes(spec_, rows, f, d));
    kv_rows_ = kv_len;
  }
}

void DilatedBackwardBranches::attend_backward(const BackwardBlock& b, KernelKind kind) {
  reserve(b.q_len, b.kv_len);
  const int batch = static_cast<int>(spec_.batch), heads = static_cast<int>(spec_.heads);
  const int group = static_cast<int>(spec_.group_size());
  const std::int64_t d = spec_.head_dim;
  const std::int64_t value_row = d * static_cast<std::int64_t>(element_bytes(spec_.dtype));
  const std::int64_t gradient_row = d * static_cast<std::int64_t>(sizeof(float));
  const std::size_t key_gradients =
      static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * b.kv_len * d) *
      sizeof(float);
  // dK/dV are written, not added: each pair adds its share from zero
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(b.dk, 0, key_gradients, stream_));
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(b.dv, 0, key_gradients, stream_));
  for (Branch& br : branches_) {
    br.q_runs = dilated_runs(b.q_runs, br.rate);
    br.kv_runs = dilated_runs(b.kv_runs, br.rate);
    if (!any_allowed(*br.pattern, br.q_runs, br.kv_runs, spec_.heads)) continue;
    const DilatedRows queries{batch, heads, 1, b.q_len, br.rate, value_row};
    const DilatedRows query_gradients{batch, heads, 1, b.q_len, br.rate, gradient_row};
    const DilatedRows stats{batch, heads, 1, b.q_len, br.rate, sizeof(float)};
    const DilatedRows keys{batch, heads, group, b.kv_len, br.rate, value_row};
    const DilatedRows key_rows{batch, heads, group, b.kv_len, br.rate, gradient_row};
    gather_dilated_rows(queries, b.q, q_.get(), stream_);
    gather_dilated_rows(queries, b.d_o, d_o_.get(), stream_);
    gather_dilated_rows(stats, b.lse, lse_.get(), stream_);
    gather_dilated_rows(stats, b.delta, delta_.get(), stream_);
    gather_dilated_rows(query_gradients, b.dq, dq_.get(), stream_);
    gather_dilated_rows(keys, b.k, k_.get(), stream_);
    gather_dilated_rows(keys, b.v, v_.get(), stream_);
    br.kernel->attend_backward_raw(
        {q_.get(), d_o_.get(), lse_.get<float>(), delta_.get<float>(), queries.rows(), br.q_runs,
         k_.get(), v_.get(), keys.rows(), br.kv_runs, dq_.get<float>(), dk_.get<float>(),
         dv_.get<float>()},
        *br.pattern, kind);
    scatter_dilated_rows(query_gradients, dq_.get(), b.dq, stream_);
    add_dilated_rows(key_rows, dk_.get<float>(), b.dk, stream_);
    add_dilated_rows(key_rows, dv_.get<float>(), b.dv, stream_);
  }
}

}  // namespace ringbench
