#include "ring/cuda/cudnn/CudnnBlockKernel.hpp"

#include <algorithm>
#include <limits>

#include "core/Error.hpp"
#include "ring/cuda/DeviceFill.cuh"
#include "ring/cuda/MergeKernel.cuh"
#include "ring/cuda/cudnn/CudnnSteps.hpp"

namespace ringbench {

namespace {

std::int64_t forward_workspace(const ProblemSpec& spec, std::int64_t n,
                               std::span<const BlockMask> steps, CudnnSdpa& sdpa) {
  return max_workspace(spec, n, steps, [&sdpa](const SdpaShape& s) { return sdpa.prepare(s); });
}

std::size_t scratch_o_bytes(const ProblemSpec& spec, std::int64_t n) {
  return static_cast<std::size_t>(spec.batch * spec.heads * n * spec.head_dim) *
         element_bytes(spec.dtype);
}
std::size_t scratch_lse_bytes(const ProblemSpec& spec, std::int64_t n) {
  return static_cast<std::size_t>(spec.batch * spec.heads * n) * sizeof(float);
}

}  // namespace

std::size_t CudnnBlockKernel::plan_bytes(const ProblemSpec& spec, std::int64_t n,
                                         std::span<const BlockMask> steps, CudnnSdpa& sdpa) {
  return scratch_o_bytes(spec, n) + scratch_lse_bytes(spec, n) +
         static_cast<std::size_t>(forward_workspace(spec, n, steps, sdpa));
}

CudnnBlockKernel::CudnnBlockKernel(const ProblemSpec& spec, std::int64_t local_len,
                                   std::span<const BlockMask> steps,
                                   std::shared_ptr<CudnnSdpa> sdpa, cudaStream_t stream)
    : spec_(spec),
      n_(local_len),
      sdpa_(std::move(sdpa)),
      stream_(stream),
      scratch_o_(scratch_o_bytes(spec, local_len)),
      scratch_lse_(scratch_lse_bytes(spec, local_len)),
      workspace_(static_cast<std::size_t>(forward_workspace(spec, local_len, steps, *sdpa_))) {}

void CudnnBlockKernel::reset(float* o, float* lse) {
  (void)o;  // ignored where lse = -inf
  fill_constant(lse, static_cast<std::size_t>(spec_.batch * spec_.heads * n_),
                -std::numeric_limits<float>::infinity(), stream_);
}

void CudnnBlockKernel::attend(const void* q, const void* kv, const BlockMask& mask, float* o,
                              float* lse) {
  const std::size_t e = element_bytes(spec_.dtype), D = static_cast<std::size_t>(spec_.head_dim);
  const auto* k = static_cast<const char*>(kv);
  const char* v =
      k + static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * n_) * D * e;
  for (const auto& r : cudnn_rectangles(mask)) {
    // views start at the rectangle's first row; strides stay those of the whole buffers
    const std::size_t q_off = static_cast<std::size_t>(r.q_begin) * D * e,
                      k_off = static_cast<std::size_t>(r.k_begin) * D * e;
    sdpa_->run(rectangle_shape(spec_, n_, r), static_cast<const char*>(q) + q_off, k + k_off,
               v + k_off, scratch_o_.get<char>() + q_off, scratch_lse_.get<float>() + r.q_begin,
               workspace_.get(), stream_);
    merge_rows({o, lse, scratch_o_.get(), scratch_lse_.get<float>(), spec_.batch * spec_.heads, n_,
                spec_.head_dim, r.q_begin, r.q_len, spec_.dtype},
               stream_);
  }
}

}  // namespace ringbench
