// What the cuDNN block kernels (forward and backward) share: a ring step's mask as cuDNN calls,
// one SdpaShape per dense or causal-diagonal rectangle, with the strides of the rank's buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/ProblemSpec.hpp"
#include "ring/BlockRectangles.hpp"
#include "ring/cuda/cudnn/CudnnSdpa.hpp"

namespace ringbench {

// Throws LibraryError when the mask is no set of such rectangles.
std::vector<BlockRectangle> cudnn_rectangles(const BlockMask& mask);

// The call for rectangle `r` of a rank with `local_len` rows of queries and of keys per block.
SdpaShape rectangle_shape(const ProblemSpec& spec, std::int64_t local_len, const BlockRectangle& r);

// The largest workspace `prepare` (which builds each graph on the way) reports over every step's
// rectangles.
std::int64_t max_workspace(const ProblemSpec& spec, std::int64_t local_len,
                           std::span<const BlockMask> steps,
                           const std::function<std::int64_t(const SdpaShape&)>& prepare);

}  // namespace ringbench
