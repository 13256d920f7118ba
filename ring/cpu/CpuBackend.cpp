#include "ring/cpu/CpuBackend.hpp"

#include <omp.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "core/InputGenerator.hpp"
#include "ring/MemoryPlan.hpp"

namespace ringbench {

namespace {
std::size_t q_values(const ProblemSpec& s, std::int64_t n) {
  return static_cast<std::size_t>(s.batch * s.heads * n * s.head_dim);
}
std::size_t kv_values(const ProblemSpec& s,
                      std::int64_t n) {  // K and V (or dK and dV) of one block
  return static_cast<std::size_t>(2 * s.batch * s.effective_kv_heads() * n * s.head_dim);
}
std::size_t rows(const ProblemSpec& s, std::int64_t n) {
  return static_cast<std::size_t>(s.batch * s.heads * n);
}
std::vector<float> values_if(bool wanted, std::size_t count) {
  return std::vector<float>(wanted ? count : 0);
}
}  // namespace

CpuBackend::CpuBackend(const ProblemSpec& spec, std::int64_t local_len,
                       std::unique_ptr<Transport> transport, int threads, bool backward,
                       std::unique_ptr<Transport> backward_transport, int received_blocks)
    : spec_(spec),
      n_(local_len),
      backward_(backward),
      q_(q_values(spec, local_len)),
      // with the backward pass a block carries its dK/dV accumulators after K/V; the local
      // block's stay zero (they leave at step 0 as the empty accumulator)
      kv_local_(kv_values(spec, local_len) * (backward ? 2 : 1)),
      kv_recv_(static_cast<std::size_t>(received_blocks), std::vector<float>(kv_local_.size())),
      o_(q_.size()),
      lse_(rows(spec, local_len)),
      d_o_(values_if(backward, q_.size())),
      dq_(values_if(backward, q_.size())),
      delta_(values_if(backward, lse_.size())),
      dkv_part_(values_if(backward, kv_values(spec, local_len))),
      dkv_home_(values_if(backward, kv_values(spec, local_len))),
      kernel_(spec, local_len),
      backward_kernel_(spec, local_len),
      transport_(std::move(transport)),
      backward_transport_(std::move(backward_transport)) {
  omp_set_num_threads(std::max(1, threads));
  buffers_ = {q_.data(),          kv_local_.data(),
              {nullptr, nullptr}, kv_values(spec, local_len) * sizeof(float),
              o_.data(),          lse_.data()};
  for (auto& b : kv_recv_) buffers_.kv_slots.push_back(b.data());
  for (std::size_t i = 0; i < 2 && i < kv_recv_.size(); ++i)
    buffers_.kv_recv[i] = kv_recv_[i].data();
  buffers_.kv_planes = 2 * spec.batch * spec.effective_kv_heads();
  buffers_.kv_tokens = local_len;
  if (backward) {
    buffers_.d_o = d_o_.data();
    buffers_.dq = dq_.data();
    buffers_.delta = delta_.data();
    buffers_.dkv_part = dkv_part_.data();
    buffers_.dkv_home = dkv_home_.data();
    buffers_.dkv_bytes = dkv_part_.size() * sizeof(float);
  }
}

std::size_t CpuBackend::allocated_bytes() const {
  return plan_host_rank(spec_, n_, backward_, static_cast<int>(kv_recv_.size()));
}

void CpuBackend::generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) {
  positions_ = expand_positions(runs);
  if (static_cast<std::int64_t>(positions_.size()) != n_)
    throw std::invalid_argument("CpuBackend: runs do not cover the rank's tokens");
  generate_tensor(TensorRole::q, seed, spec_, positions_, q_);
  generate_kv_block(seed, spec_, positions_, std::span(kv_local_).first(kv_values(spec_, n_)));
  if (backward_) generate_tensor(TensorRole::d_o, seed, spec_, positions_, d_o_);
}

ErrorSums CpuBackend::compare_with_reference(std::uint64_t seed) {
  // keys of the whole sequence, rebuilt from the generator
  std::vector<std::int64_t> all(static_cast<std::size_t>(spec_.seq_len));
  std::iota(all.begin(), all.end(), 0);
  const std::size_t kv = static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() *
                                                  spec_.seq_len * spec_.head_dim);
  std::vector<float> k(kv), v(kv);
  generate_tensor(TensorRole::k, seed, spec_, all, k);
  generate_tensor(TensorRole::v, seed, spec_, all, v);
  const AttentionResult ref = reference_attention(spec_, q_, positions_, k, v, all);
  return compare_outputs(o_, lse_, ref.o, ref.lse);
}

BlockBackwardKernel& CpuBackend::backward_kernel() {
  if (!backward_) throw std::logic_error("CpuBackend: made without the backward pass's buffers");
  return backward_kernel_;
}

Transport& CpuBackend::backward_transport() {
  return backward_transport_ ? *backward_transport_ : *transport_;
}

GradientResult CpuBackend::read_gradients() {
  const std::size_t half = dkv_home_.size() / 2;
  return {
      dq_,
      std::vector<float>(dkv_home_.begin(), dkv_home_.begin() + static_cast<std::ptrdiff_t>(half)),
      std::vector<float>(dkv_home_.begin() + static_cast<std::ptrdiff_t>(half), dkv_home_.end())};
}

}  // namespace ringbench
