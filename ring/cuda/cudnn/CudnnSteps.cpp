#include "ring/cuda/cudnn/CudnnSteps.hpp"

#include <algorithm>

#include "core/Error.hpp"

namespace ringbench {

std::vector<BlockRectangle> cudnn_rectangles(const BlockMask& mask) {
  auto rects = block_rectangles(mask);
  if (!rects)
    throw LibraryError(
        "cuDNN kernel: this step's mask is not a set of dense or causal-diagonal blocks");
  return *rects;
}

SdpaShape rectangle_shape(const ProblemSpec& spec, std::int64_t n, const BlockRectangle& r) {
  SdpaShape s;
  s.batch = spec.batch;
  s.heads = spec.heads;
  s.kv_heads = spec.effective_kv_heads();
  s.dim = spec.head_dim;
  s.q_rows = s.k_rows = n;
  s.dtype = spec.dtype;
  s.scale = static_cast<float>(spec.scale());
  s.q_len = r.q_len;
  s.k_len = r.k_len;
  s.causal = r.causal;
  return s;
}

std::int64_t max_workspace(const ProblemSpec& spec, std::int64_t n,
                           std::span<const BlockMask> steps,
                           const std::function<std::int64_t(const SdpaShape&)>& prepare) {
  std::int64_t most = 0;
  for (const auto& m : steps) {
    if (m.empty()) continue;
    for (const auto& r : cudnn_rectangles(m))
      most = std::max(most, prepare(rectangle_shape(spec, n, r)));
  }
  return most;
}

}  // namespace ringbench
