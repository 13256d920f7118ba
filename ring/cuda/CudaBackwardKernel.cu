#include "ring/cuda/CudaBackwardKernel.hpp"

#include <stdexcept>

#include "core/PatternSpec.hpp"
#include "distributed/cuda/CudaCheck.hpp"
#include "flash/BlockAttentionBackward.cuh"
#include "ring/cuda/DeviceFill.cuh"
#include "ring/cuda/DilatedBackwardBranches.hpp"
#include "ring/cuda/GradientKernels.cuh"

namespace ringbench {

CudaBackwardKernel::CudaBackwardKernel(const ProblemSpec& spec, KernelKind kind,
                                       std::int64_t local_len, cudaStream_t stream)
    : spec_(spec), kind_(kind), n_(local_len), stream_(stream), positions_(local_len) {
  // sparse patterns (windows included) as terms with tile lists, dilated ones as gathered pairs
  auto pattern = make_pattern(spec.mask, spec.seq_len);
  pattern_spec_ = pattern->spec();
  if (pattern->dense_kind()) return;
  if (pattern->mask_terms())
    pattern_mask_.emplace(std::move(pattern), stream);
  else if (const auto* dilated = dynamic_cast<const DilatedPattern*>(pattern.get()))
    dilated_ = std::make_unique<DilatedBackwardBranches>(spec, *dilated, local_len, stream);
  else
    throw std::logic_error("CudaBackwardKernel: no GPU form for pattern " + pattern->spec());
}

CudaBackwardKernel::~CudaBackwardKernel() = default;

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
  const std::size_t half_values =
      static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * n_ * spec_.head_dim);
  const void* v = static_cast<const char*>(kv) + half_values * element_bytes(spec_.dtype);
  attend_backward_raw({in.q, in.d_o, in.lse, in.delta, n_, mask.q_runs, kv, v, n_, mask.kv_runs, dq,
                       dkv, dkv + half_values},
                      *mask.pattern, kind_);
}

void CudaBackwardKernel::attend_backward_raw(const BackwardBlock& b,
                                             const AttentionPattern& pattern, KernelKind kind) {
  const auto dense = pattern.dense_kind();
  if (!dense && pattern.spec() != pattern_spec_)
    throw std::logic_error("CudaBackwardKernel: pattern " + pattern.spec() + " is not the case's");
  if (!dense && !pattern.mask_terms()) return dilated_->attend_backward(b, kind);
  positions_.fill(b.q_runs, b.q_len, b.kv_runs, b.kv_len, stream_);
  cuda::BlockBackwardArgs a{};
  a.q = b.q;
  a.d_o = b.d_o;
  a.k = b.k;
  a.v = b.v;
  a.lse = b.lse;
  a.delta = b.delta;
  a.q_pos = positions_.q();
  a.kv_pos = positions_.kv();
  a.dq = b.dq;
  a.dk = b.dk;
  a.dv = b.dv;
  a.batch = static_cast<int>(spec_.batch);
  a.heads = static_cast<int>(spec_.heads);
  a.kv_heads = static_cast<int>(spec_.effective_kv_heads());
  a.head_dim = static_cast<int>(spec_.head_dim);
  a.q_len = static_cast<int>(b.q_len);
  a.kv_len = static_cast<int>(b.kv_len);
  a.type = spec_.dtype == DType::fp16 ? cuda::ElementType::fp16 : cuda::ElementType::bf16;
  if (!dense) {
    a.mask = cuda::MaskKind::terms;
    a.terms = pattern_mask_->terms();
    if (kind == KernelKind::flash)
      a.tiles = pattern_mask_->tiles(b.q_runs, b.kv_runs, kBackwardTiles);
  } else {
    a.mask = dense == MaskKind::causal ? cuda::MaskKind::causal : cuda::MaskKind::none;
  }
  a.softmax_scale = static_cast<float>(spec_.scale());
  if (kind == KernelKind::flash)
    cuda::flash_attend_backward(a, stream_);
  else
    cuda::reference_attend_backward(a, stream_);
}

void CudaBackwardKernel::accumulate(float* acc, const float* part, std::size_t count) {
  add_values(acc, part, count, stream_);
}

}  // namespace ringbench
