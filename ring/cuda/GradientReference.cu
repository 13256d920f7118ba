#include "ring/MemoryPlan.hpp"
#include "ring/cuda/GradientReference.hpp"

#include <algorithm>

#include "core/PatternSpec.hpp"
#include "distributed/cuda/CudaCheck.hpp"
#include "flash/BlockAttentionBackward.cuh"
#include "ring/cuda/DeviceFill.cuh"
#include "ring/cuda/DilatedBackwardBranches.hpp"
#include "ring/cuda/GradientKernels.cuh"

namespace ringbench {

namespace {

// Tokens per chunk of queries or keys: bounded so the check fits beside the run, and whole in
// every dilation rate (dilated pairs gather whole rows).
std::size_t values(const ProblemSpec& s, std::int64_t heads, std::int64_t tokens) {
  return static_cast<std::size_t>(s.batch * heads * tokens * s.head_dim);
}
std::size_t rows(const ProblemSpec& s, std::int64_t tokens) {
  return static_cast<std::size_t>(s.batch * s.heads * tokens);
}

std::vector<float> to_host(const float* device, std::size_t count, cudaStream_t stream) {
  std::vector<float> host(count);
  RINGBENCH_CHECK_CUDA(
      cudaMemcpyAsync(host.data(), device, count * sizeof(float), cudaMemcpyDeviceToHost, stream));
  RINGBENCH_CHECK_CUDA(cudaStreamSynchronize(stream));
  return host;
}

// A chunk of consecutive positions and its tensors, generated on the device.
struct Chunk {
  PositionRun run;
  DeviceBuffer a, b;  // Q and dO, or K and V
  Chunk(const ProblemSpec& s, std::int64_t heads, std::int64_t tokens)
      : a(values(s, heads, tokens) * element_bytes(s.dtype)),
        b(values(s, heads, tokens) * element_bytes(s.dtype)) {}
  void generate(TensorRole ra, TensorRole rb, std::uint64_t seed, const ProblemSpec& s,
                std::int64_t first, std::int64_t len, cudaStream_t stream) {
    run = {0, first, len, 1};
    generate_device_tensor(ra, seed, s, {&run, 1}, a.get(), stream);
    generate_device_tensor(rb, seed, s, {&run, 1}, b.get(), stream);
  }
};

}  // namespace

GradientReference::GradientReference(const ProblemSpec& spec, std::int64_t local_len,
                                     cudaStream_t stream)
    : spec_(spec),
      n_(local_len),
      chunk_(gradient_reference_chunk(spec)),
      stream_(stream),
      lse_(rows(spec, local_len) * sizeof(float)),
      delta_(rows(spec, local_len) * sizeof(float)),
      pattern_(make_pattern(spec.mask, spec.seq_len)),
      kernel_(spec, KernelKind::reference, local_len, stream) {}

RowStats GradientReference::row_stats(const float* ref_o, const float* ref_lse, const void* d_o) {
  const std::size_t r = rows(spec_, n_);
  row_delta({ref_o, d_o, delta_.get<float>(), nullptr, static_cast<std::int64_t>(r), spec_.head_dim,
             spec_.dtype},
            stream_);
  RINGBENCH_CHECK_CUDA(
      cudaMemcpyAsync(lse_.get(), ref_lse, r * sizeof(float), cudaMemcpyDeviceToDevice, stream_));
  const std::vector<float> lse = to_host(lse_.get<float>(), r, stream_),
                           delta = to_host(delta_.get<float>(), r, stream_);
  return {{lse.begin(), lse.end()}, {delta.begin(), delta.end()}};
}

void GradientReference::reference_dq(std::uint64_t seed, const RankTensors& rank, float* dq_ref) {
  const std::int64_t kv = spec_.effective_kv_heads();
  Chunk keys(spec_, kv, chunk_);
  DeviceBuffer dkv_discard(2 * values(spec_, kv, chunk_) * sizeof(float));
  RINGBENCH_CHECK_CUDA(
      cudaMemsetAsync(dq_ref, 0, values(spec_, spec_.heads, n_) * sizeof(float), stream_));
  for (std::int64_t first = 0; first < spec_.seq_len; first += chunk_) {
    const std::int64_t len = std::min(chunk_, spec_.seq_len - first);
    keys.generate(TensorRole::k, TensorRole::v, seed, spec_, first, len, stream_);
    float* dk = dkv_discard.get<float>();
    kernel_.attend_backward_raw({rank.q,
                                 rank.d_o,
                                 lse_.get<float>(),
                                 delta_.get<float>(),
                                 n_,
                                 rank.runs,
                                 keys.a.get(),
                                 keys.b.get(),
                                 len,
                                 {&keys.run, 1},
                                 dq_ref,
                                 dk,
                                 dk + values(spec_, kv, len)},
                                *pattern_, KernelKind::reference);
  }
}

void GradientReference::reference_dkv(std::uint64_t seed, const RankTensors& rank,
                                      const RowStats& all, float* dkv_ref) {
  const std::int64_t kv = spec_.effective_kv_heads(), BH = spec_.batch * spec_.heads,
                     S = spec_.seq_len;
  const std::size_t half = values(spec_, kv, n_);
  DeviceBuffer dkv_part(2 * half * sizeof(float)),
      dq_discard(values(spec_, spec_.heads, chunk_) * sizeof(float)),
      stats(2 * rows(spec_, chunk_) * sizeof(float));
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(dkv_ref, 0, 2 * half * sizeof(float), stream_));
  Chunk queries(spec_, spec_.heads, chunk_);
  std::vector<float> host_stats(2 * rows(spec_, chunk_));
  const void* v = static_cast<const char*>(rank.kv) + half * element_bytes(spec_.dtype);
  for (std::int64_t first = 0; first < S; first += chunk_) {
    const std::int64_t len = std::min(chunk_, S - first);
    queries.generate(TensorRole::q, TensorRole::d_o, seed, spec_, first, len, stream_);
    // the chunk's LSE and D, [batch*heads, len], then uploaded in one copy
    RINGBENCH_CHECK_CUDA(cudaStreamSynchronize(stream_));  // host_stats is reused
    for (std::int64_t bh = 0; bh < BH; ++bh)
      for (std::int64_t i = 0; i < len; ++i) {
        const auto at = static_cast<std::size_t>(bh * S + first + i);
        host_stats[static_cast<std::size_t>(bh * len + i)] = static_cast<float>(all.lse[at]);
        host_stats[static_cast<std::size_t>((BH + bh) * len + i)] =
            static_cast<float>(all.delta[at]);
      }
    RINGBENCH_CHECK_CUDA(cudaMemcpyAsync(stats.get(), host_stats.data(),
                                         2 * static_cast<std::size_t>(BH * len) * sizeof(float),
                                         cudaMemcpyHostToDevice, stream_));
    kernel_.attend_backward_raw({queries.a.get(),
                                 queries.b.get(),
                                 stats.get<float>(),
                                 stats.get<float>() + BH * len,
                                 len,
                                 {&queries.run, 1},
                                 rank.kv,
                                 v,
                                 n_,
                                 rank.runs,
                                 dq_discard.get<float>(),
                                 dkv_part.get<float>(),
                                 dkv_part.get<float>() + half},
                                *pattern_, KernelKind::reference);
    add_values(dkv_ref, dkv_part.get<float>(), 2 * half, stream_);
  }
}

GradientSums GradientReference::compare(std::uint64_t seed, const RankTensors& rank,
                                        const RowStats& all) {
  const std::size_t q_values = values(spec_, spec_.heads, n_),
                    half = values(spec_, spec_.effective_kv_heads(), n_);
  GradientSums sums;
  {
    DeviceBuffer dq_ref(q_values * sizeof(float));
    reference_dq(seed, rank, dq_ref.get<float>());
    const auto ref = to_host(dq_ref.get<float>(), q_values, stream_);
    const auto got = to_host(rank.dq, q_values, stream_);
    sums.dq.add(std::span<const float>(got), std::span<const float>(ref));
  }
  DeviceBuffer dkv_ref(2 * half * sizeof(float));
  reference_dkv(seed, rank, all, dkv_ref.get<float>());
  const auto ref = to_host(dkv_ref.get<float>(), 2 * half, stream_);
  const auto got = to_host(rank.dkv, 2 * half, stream_);
  const std::span<const float> r(ref), g(got);
  sums.dk.add(g.first(half), r.first(half));
  sums.dv.add(g.subspan(half), r.subspan(half));
  return sums;
}

}  // namespace ringbench
