#include "ring/cuda/cudnn/CudnnBackwardKernel.hpp"

#include "distributed/cuda/CudaCheck.hpp"
#include "ring/cuda/GradientKernels.cuh"
#include "ring/cuda/cudnn/CudnnSteps.hpp"

namespace ringbench {

namespace {

std::size_t query_bytes(const ProblemSpec& s, std::int64_t n) {
  return static_cast<std::size_t>(s.batch * s.heads * n * s.head_dim) * element_bytes(s.dtype);
}
std::size_t key_bytes(const ProblemSpec& s, std::int64_t n) {  // K or V of one block
  return static_cast<std::size_t>(s.batch * s.effective_kv_heads() * n * s.head_dim) *
         element_bytes(s.dtype);
}
std::size_t stats_bytes(const ProblemSpec& s, std::int64_t n) {
  return static_cast<std::size_t>(s.batch * s.heads * n) * sizeof(float);
}
std::int64_t backward_workspace(const ProblemSpec& spec, std::int64_t n,
                                std::span<const BlockMask> steps, CudnnSdpa& sdpa) {
  return max_workspace(spec, n, steps,
                       [&sdpa](const SdpaShape& s) { return sdpa.prepare_backward(s); });
}

}  // namespace

std::size_t CudnnBackwardKernel::plan_bytes(const ProblemSpec& spec, std::int64_t n,
                                            std::span<const BlockMask> steps, CudnnSdpa& sdpa) {
  return 2 * query_bytes(spec, n) + 2 * key_bytes(spec, n) + stats_bytes(spec, n) +
         static_cast<std::size_t>(backward_workspace(spec, n, steps, sdpa));
}

CudnnBackwardKernel::CudnnBackwardKernel(const ProblemSpec& spec, std::int64_t local_len,
                                         std::span<const BlockMask> steps,
                                         std::shared_ptr<CudnnSdpa> sdpa, cudaStream_t stream)
    : spec_(spec),
      n_(local_len),
      sdpa_(std::move(sdpa)),
      stream_(stream),
      o_low_(query_bytes(spec, local_len)),
      dq_part_(query_bytes(spec, local_len)),
      dkv_part_(2 * key_bytes(spec, local_len)),
      stats_(stats_bytes(spec, local_len)),
      workspace_(static_cast<std::size_t>(backward_workspace(spec, local_len, steps, *sdpa_))) {}

std::size_t CudnnBackwardKernel::device_bytes() const {
  return o_low_.bytes() + dq_part_.bytes() + dkv_part_.bytes() + stats_.bytes() +
         workspace_.bytes();
}

void CudnnBackwardKernel::prepare(const BackwardInputs& in, float* dq) {
  const std::int64_t rows = spec_.batch * spec_.heads * n_;
  row_delta({in.o, in.d_o, in.delta, o_low_.get(), rows, spec_.head_dim, spec_.dtype}, stream_);
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(
      dq, 0, static_cast<std::size_t>(rows * spec_.head_dim) * sizeof(float), stream_));
}

void CudnnBackwardKernel::attend_backward(const BackwardInputs& in, const void* kv,
                                          const BlockMask& mask, float* dq, float* dkv) {
  const std::size_t e = element_bytes(spec_.dtype), D = static_cast<std::size_t>(spec_.head_dim);
  const std::int64_t kv_rows = spec_.batch * spec_.effective_kv_heads();
  const std::size_t half = key_bytes(spec_, n_), half_values = half / e;
  // rectangles may share keys (a diagonal step's lower chunk sees two query chunks): dK and dV
  // are summed from zero
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(dkv, 0, 2 * half_values * sizeof(float), stream_));
  const auto* k = static_cast<const char*>(kv);
  for (const auto& r : cudnn_rectangles(mask)) {
    // views start at the rectangle's first row; strides stay those of the whole buffers
    const std::size_t q_off = static_cast<std::size_t>(r.q_begin) * D * e,
                      k_off = static_cast<std::size_t>(r.k_begin) * D * e;
    CudnnSdpa::Backward b{};
    b.q = static_cast<const char*>(in.q) + q_off;
    b.k = k + k_off;
    b.v = k + half + k_off;
    b.o = o_low_.get<char>() + q_off;
    b.d_o = static_cast<const char*>(in.d_o) + q_off;
    b.stats = packed_stats(in.lse, r);
    b.dq = dq_part_.get<char>() + q_off;
    b.dk = dkv_part_.get<char>() + k_off;
    b.dv = dkv_part_.get<char>() + half + k_off;
    sdpa_->run_backward(rectangle_shape(spec_, n_, r), b, workspace_.get(), stream_);
    const auto D64 = static_cast<std::int64_t>(D);
    add_rows(
        {dq, dq_part_.get(), spec_.batch * spec_.heads, n_, D64, r.q_begin, r.q_len, spec_.dtype},
        stream_);
    add_rows({dkv, dkv_part_.get(), kv_rows, n_, D64, r.k_begin, r.k_len, spec_.dtype}, stream_);
    add_rows({dkv + half_values, dkv_part_.get<char>() + half, kv_rows, n_, D64, r.k_begin, r.k_len,
              spec_.dtype},
             stream_);
  }
}

const float* CudnnBackwardKernel::packed_stats(const float* lse, const BlockRectangle& r) {
  if (r.q_len == n_) return lse;
  const std::size_t row = sizeof(float);
  RINGBENCH_CHECK_CUDA(cudaMemcpy2DAsync(
      stats_.get(), static_cast<std::size_t>(r.q_len) * row, lse + r.q_begin,
      static_cast<std::size_t>(n_) * row, static_cast<std::size_t>(r.q_len) * row,
      static_cast<std::size_t>(spec_.batch * spec_.heads), cudaMemcpyDeviceToDevice, stream_));
  return stats_.get<float>();
}

void CudnnBackwardKernel::accumulate(float* acc, const float* part, std::size_t count) {
  add_values(acc, part, count, stream_);
}

}  // namespace ringbench
