#include "ring/cpu/CpuBackend.hpp"

#include <omp.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "core/InputGenerator.hpp"

namespace ringbench {

namespace {
std::size_t q_values(const ProblemSpec& s, std::int64_t n) {
  return static_cast<std::size_t>(s.batch * s.heads * n * s.head_dim);
}
std::size_t kv_values(const ProblemSpec& s, std::int64_t n) {
  return static_cast<std::size_t>(2 * s.batch * s.effective_kv_heads() * n * s.head_dim);
}
}  // namespace

std::size_t cpu_rank_bytes(const ProblemSpec& spec, std::int64_t n) {
  // Q, O, three K/V blocks (local + double buffer), LSE; all fp32
  const std::size_t lse = static_cast<std::size_t>(spec.batch * spec.heads * n);
  return sizeof(float) * (2 * q_values(spec, n) + 3 * kv_values(spec, n) + lse);
}

CpuBackend::CpuBackend(const ProblemSpec& spec, std::int64_t local_len,
                       std::unique_ptr<Transport> transport, int threads)
    : spec_(spec),
      n_(local_len),
      q_(q_values(spec, local_len)),
      kv_local_(kv_values(spec, local_len)),
      kv_recv_{std::vector<float>(kv_local_.size()), std::vector<float>(kv_local_.size())},
      o_(q_.size()),
      lse_(static_cast<std::size_t>(spec.batch * spec.heads * local_len)),
      kernel_(spec, local_len),
      transport_(std::move(transport)) {
  omp_set_num_threads(std::max(1, threads));
  buffers_ = {q_.data(), kv_local_.data(), {kv_recv_[0].data(), kv_recv_[1].data()},
              kv_local_.size() * sizeof(float), o_.data(), lse_.data()};
}

std::size_t CpuBackend::allocated_bytes() const { return cpu_rank_bytes(spec_, n_); }

void CpuBackend::generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) {
  positions_.clear();
  for (const auto& r : runs)
    for (std::int64_t i = 0; i < r.length; ++i) positions_.push_back(r.global_start + i * r.stride);
  if (static_cast<std::int64_t>(positions_.size()) != n_)
    throw std::invalid_argument("CpuBackend: runs do not cover the rank's tokens");
  const std::size_t half = kv_local_.size() / 2;
  generate_tensor(TensorRole::q, seed, spec_, positions_, q_);
  generate_tensor(TensorRole::k, seed, spec_, positions_, std::span(kv_local_).first(half));
  generate_tensor(TensorRole::v, seed, spec_, positions_, std::span(kv_local_).subspan(half));
}

ErrorSums CpuBackend::compare_with_reference(std::uint64_t seed) {
  // keys of the whole sequence, rebuilt from the generator
  std::vector<std::int64_t> all(static_cast<std::size_t>(spec_.seq_len));
  std::iota(all.begin(), all.end(), 0);
  const std::size_t kv = static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * spec_.seq_len *
                                                  spec_.head_dim);
  std::vector<float> k(kv), v(kv);
  generate_tensor(TensorRole::k, seed, spec_, all, k);
  generate_tensor(TensorRole::v, seed, spec_, all, v);
  const AttentionResult ref = reference_attention(spec_, q_, positions_, k, v, all);
  return compare_outputs(o_, lse_, ref.o, ref.lse);
}

}  // namespace ringbench
