// Block attention on the host in fp32: flash-attention style tiles (a tile of queries against a
// tile of keys, online softmax), so memory stays O(tile) and fully masked tiles are skipped.
// Parallel over (batch, head, query tile) with OpenMP.
#pragma once

#include "core/ProblemSpec.hpp"
#include "ring/BlockKernel.hpp"

namespace ringbench {

class CpuBlockKernel final : public BlockKernel {
 public:
  CpuBlockKernel(const ProblemSpec& spec, std::int64_t local_len);
  std::string name() const override { return "cpu"; }
  void reset(float* o, float* lse) override;
  void attend(const void* q, const void* kv, const BlockMask& mask, float* o, float* lse) override;

  static constexpr std::int64_t kTileQ = 32;
  static constexpr std::int64_t kTileK = 64;

 private:
  ProblemSpec spec_;
  std::int64_t n_;  // tokens per rank (rows of Q and of every K/V block)
};

}  // namespace ringbench
