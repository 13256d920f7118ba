// A ring step's mask as a few dense rectangles, for kernels that only know "all pairs" and
// "causal on the diagonal" (cuDNN SDPA): each (query run, key run) pair is fully allowed, fully
// masked (dropped), or the causal diagonal of identical runs; neighbours are then merged so a
// zigzag step is one large rectangle rather than four small ones.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ring/BlockMask.hpp"

namespace ringbench {

struct BlockRectangle {
  std::int64_t q_begin = 0, q_len = 0;  // local query rows
  std::int64_t k_begin = 0, k_len = 0;  // local key rows of the block
  bool causal = false;                  // top-left causal (identical positions), else all pairs
};

// std::nullopt when some pair is partially allowed in a way no rectangle expresses.
std::optional<std::vector<BlockRectangle>> block_rectangles(const BlockMask& mask);

}  // namespace ringbench
