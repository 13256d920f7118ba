#include "ring/cpu/CpuBackend.hpp"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

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

CpuBackend::CpuBackend(const ProblemSpec& spec, std::int64_t local_len, MPI_Comm ring, int threads)
    : spec_(spec),
      n_(local_len),
      q_(q_values(spec, local_len)),
      kv_local_(kv_values(spec, local_len)),
      kv_recv_{std::vector<float>(kv_local_.size()), std::vector<float>(kv_local_.size())},
      o_(q_.size()),
      lse_(static_cast<std::size_t>(spec.batch * spec.heads * local_len)),
      kernel_(spec, local_len),
      transport_(ring) {
  omp_set_num_threads(std::max(1, threads));
  buffers_ = {q_.data(), kv_local_.data(), {kv_recv_[0].data(), kv_recv_[1].data()},
              kv_local_.size() * sizeof(float), o_.data(), lse_.data()};
}

std::size_t CpuBackend::allocated_bytes() const { return cpu_rank_bytes(spec_, n_); }

void CpuBackend::load_inputs(std::span<const float> q, std::span<const float> k, std::span<const float> v) {
  if (q.size() != q_.size() || k.size() + v.size() != kv_local_.size())
    throw std::invalid_argument("CpuBackend::load_inputs: input sizes do not match the case");
  std::copy(q.begin(), q.end(), q_.begin());
  std::copy(k.begin(), k.end(), kv_local_.begin());
  std::copy(v.begin(), v.end(), kv_local_.begin() + static_cast<std::ptrdiff_t>(k.size()));
}

}  // namespace ringbench
