#include <algorithm>
#include <limits>
#include <stdexcept>

#include "core/PatternSpec.hpp"
#include "ring/cuda/CudaBlockKernel.hpp"
#include "ring/cuda/DeviceFill.cuh"
#include "ring/cuda/DilatedBranches.hpp"

namespace ringbench {

CudaBlockKernel::CudaBlockKernel(const ProblemSpec& spec, KernelKind kind, std::int64_t local_len,
                                 cudaStream_t stream)
    : spec_(spec), kind_(kind), n_(local_len), stream_(stream), positions_(local_len) {
  // bands go to the kernels as two numbers; the other patterns as terms and tile lists, and
  // dilated ones as gathered pairs of such patterns
  auto pattern = make_pattern(spec.mask, spec.seq_len);
  if (pattern->band()) return;
  if (pattern->mask_terms())
    pattern_mask_.emplace(std::move(pattern), stream);
  else if (const auto* dilated = dynamic_cast<const DilatedPattern*>(pattern.get()))
    dilated_ = std::make_unique<DilatedBranches>(spec, *dilated, local_len, stream);
  else
    throw std::logic_error("CudaBlockKernel: no GPU form for pattern " + pattern->spec());
}

CudaBlockKernel::~CudaBlockKernel() = default;

std::string CudaBlockKernel::name() const {
  return std::string(to_string(kind_));
}

namespace {

// none and causal as themselves (the kernels' dense paths), any other band as a band; the
// unbounded side of a band as the largest position difference.
void set_band(cuda::BlockAttentionArgs& a, const Band& band) {
  const auto side = [](std::int64_t v) {
    return static_cast<int>(std::min<std::int64_t>(v, std::numeric_limits<int>::max()));
  };
  const bool left_open = band.left >= Band::kUnbounded, right_open = band.right >= Band::kUnbounded;
  if (left_open && right_open)
    a.mask = cuda::MaskKind::none;
  else if (left_open && band.right == 0)
    a.mask = cuda::MaskKind::causal;
  else
    a.mask = cuda::MaskKind::band, a.band_left = side(band.left), a.band_right = side(band.right);
}

}  // namespace

void CudaBlockKernel::reset(float* o, float* lse) {
  (void)o;  // ignored where lse = -inf
  fill_constant(lse, static_cast<std::size_t>(spec_.batch * spec_.heads * n_),
                -std::numeric_limits<float>::infinity(), stream_);
}

void CudaBlockKernel::attend(const void* q, const void* kv, const BlockMask& mask, float* o,
                             float* lse) {
  const std::size_t half =
      static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * n_ * spec_.head_dim) *
      element_bytes(spec_.dtype);
  const void* v = static_cast<const char*>(kv) + half;
  attend_raw(q, mask.q_runs, kv, v, n_, mask.kv_runs, *mask.pattern, o, lse, kind_);
}

void CudaBlockKernel::attend_raw(const void* q, std::span<const PositionRun> q_runs, const void* k,
                                 const void* v, std::int64_t kv_len,
                                 std::span<const PositionRun> kv_runs,
                                 const AttentionPattern& pattern, float* o, float* lse,
                                 KernelKind kind) {
  if (!pattern.mask_terms()) {
    if (!dilated_ || pattern.spec() != spec_.mask)
      throw std::logic_error("CudaBlockKernel: pattern " + pattern.spec() + " is not the case's");
    return dilated_->attend(q, q_runs, k, v, kv_len, kv_runs, o, lse, kind);
  }
  positions_.fill(q_runs, n_, kv_runs, kv_len, stream_);
  cuda::BlockAttentionArgs a{};
  a.q = q;
  a.k = k;
  a.v = v;
  a.q_pos = positions_.q();
  a.kv_pos = positions_.kv();
  a.o_acc = o;
  a.lse_acc = lse;
  a.batch = static_cast<int>(spec_.batch);
  a.heads = static_cast<int>(spec_.heads);
  a.kv_heads = static_cast<int>(spec_.effective_kv_heads());
  a.head_dim = static_cast<int>(spec_.head_dim);
  a.q_len = static_cast<int>(n_);
  a.kv_len = static_cast<int>(kv_len);
  a.type = spec_.dtype == DType::fp16 ? cuda::ElementType::fp16 : cuda::ElementType::bf16;
  if (const auto band = pattern.band()) {
    set_band(a, *band);
  } else {
    if (!pattern_mask_ || pattern_mask_->spec() != pattern.spec())
      throw std::logic_error("CudaBlockKernel: pattern " + pattern.spec() + " is not the case's");
    a.mask = cuda::MaskKind::terms;
    a.terms = pattern_mask_->terms();
    if (kind == KernelKind::flash) a.tiles = pattern_mask_->tiles(q_runs, kv_runs, kForwardTiles);
  }
  a.softmax_scale = static_cast<float>(spec_.scale());
  if (kind == KernelKind::flash)
    cuda::flash_attend_merge(a, stream_);
  else
    cuda::reference_attend_merge(a, stream_);
}

}  // namespace ringbench
