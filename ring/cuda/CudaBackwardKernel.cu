#include "ring/cuda/CudaBackwardKernel.hpp"

#include <stdexcept>

#include "core/PatternSpec.hpp"
#include "distributed/cuda/CudaCheck.hpp"
#include "flash/BlockAttentionBackward.cuh"
#include "ring/cuda/DeviceFill.cuh"
#include "ring/cuda/GradientKernels.cuh"

namespace ringbench {

CudaBackwardKernel::CudaBackwardKernel(const ProblemSpec& spec, KernelKind kind,
                                       std::int64_t local_len, cudaStream_t stream)
    : spec_(spec), kind_(kind), n_(local_len), stream_(stream), positions_(local_len) {
  // sparse patterns (windows included) as terms with tile lists; validate() took only those
  auto pattern = make_pattern(spec.mask, spec.seq_len);
  if (!pattern->dense_kind() && pattern->mask_terms())
    pattern_mask_.emplace(std::move(pattern), stream);
}

std::string CudaBackwardKernel::name() const {
  return std::string(to_string(kind_));
}

void CudaBackwardKernel::prepare(const BackwardInputs& in, float* dq) {
  const std::int64_t rows = spec_.batch * spec_.heads * n_;
  row_delta({in.o, in.d_o, in.delta, nullptr, rows, spec_.head_dim, spec_.dtype}, stream_);
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(
      dq, 0, static_cast<std::size_t>(rows * spec_.head_dim) * sizeof(float), stream_));
}

void CudaBackwardKernel::attend_backward(const BackwardInputs& in, const void* kv,
                                         const BlockMask& mask, float* dq, float* dkv) {
  positions_.fill(mask.q_runs, mask.kv_runs, n_, stream_);
  const std::size_t half_values =
      static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * n_ * spec_.head_dim);
  cuda::BlockBackwardArgs a{};
  a.q = in.q;
  a.d_o = in.d_o;
  a.k = kv;
  a.v = static_cast<const char*>(kv) + half_values * element_bytes(spec_.dtype);
  a.lse = in.lse;
  a.delta = in.delta;
  a.q_pos = positions_.q();
  a.kv_pos = positions_.kv();
  a.dq = dq;
  a.dk = dkv;
  a.dv = dkv + half_values;
  a.batch = static_cast<int>(spec_.batch);
  a.heads = static_cast<int>(spec_.heads);
  a.kv_heads = static_cast<int>(spec_.effective_kv_heads());
  a.head_dim = static_cast<int>(spec_.head_dim);
  a.q_len = a.kv_len = static_cast<int>(n_);
  a.type = spec_.dtype == DType::fp16 ? cuda::ElementType::fp16 : cuda::ElementType::bf16;
  const auto dense = mask.pattern->dense_kind();
  if (!dense) {
    if (!pattern_mask_ || pattern_mask_->spec() != mask.pattern->spec())
      throw std::logic_error("CudaBackwardKernel: pattern " + mask.pattern->spec() +
                             " is not the case's");
    a.mask = cuda::MaskKind::terms;
    a.terms = pattern_mask_->terms();
    if (kind_ == KernelKind::flash)
      a.tiles = pattern_mask_->tiles(mask.q_runs, mask.kv_runs, kBackwardTiles);
  } else {
    a.mask = dense == MaskKind::causal ? cuda::MaskKind::causal : cuda::MaskKind::none;
  }
  a.softmax_scale = static_cast<float>(spec_.scale());
  if (kind_ == KernelKind::flash)
    cuda::flash_attend_backward(a, stream_);
  else
    cuda::reference_attend_backward(a, stream_);
}

void CudaBackwardKernel::accumulate(float* acc, const float* part, std::size_t count) {
  add_values(acc, part, count, stream_);
}

}  // namespace ringbench
