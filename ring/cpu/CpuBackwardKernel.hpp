// Block attention backward on the host in fp32, tiled like the forward kernel (tiles of 32 queries
// x 64 keys; fully masked tiles skipped, the mask applied only to partial ones), OpenMP-parallel.
//
// Two passes, so every output row has one owner and no thread writes where another does: over
// query tiles for dQ, then over key tiles for dK and dV (each tile also summing over the query
// heads of its GQA group). Both recompute the probabilities: 14·head_dim FLOPs per allowed pair
// where a fused kernel with atomics does 10; reported TFLOP/s count the convention's 2.5 x forward
// (10·head_dim), so this kernel's own arithmetic is 40 % above what is credited.
#pragma once

#include "core/ProblemSpec.hpp"
#include "ring/BlockBackwardKernel.hpp"

namespace ringbench {

class CpuBackwardKernel final : public BlockBackwardKernel {
 public:
  CpuBackwardKernel(const ProblemSpec& spec, std::int64_t local_len);
  std::string name() const override { return "cpu"; }
  void prepare(const BackwardInputs& in, float* dq) override;
  void attend_backward(const BackwardInputs& in, const void* kv, const BlockMask& mask, float* dq,
                       float* dkv) override;
  void accumulate(float* acc, const float* part, std::size_t count) override;

  static constexpr std::int64_t kTileQ = 32;
  static constexpr std::int64_t kTileK = 64;

 private:
  void query_pass(const BackwardInputs& in, const float* k, const float* v, const BlockMask& mask,
                  float* dq);
  void key_pass(const BackwardInputs& in, const float* k, const float* v, const BlockMask& mask,
                float* dk, float* dv);

  ProblemSpec spec_;
  std::int64_t n_;  // tokens per rank (rows of Q and of every K/V block)
};

}  // namespace ringbench
