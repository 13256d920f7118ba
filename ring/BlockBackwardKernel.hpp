// The backward pass of attention for this rank's queries against one K/V block: what the ring
// backward (RingBackward.cpp) asks of a device. Implementations: CpuBackwardKernel (host, fp32);
// the CUDA kernels implement the same calls on device buffers, in stream order.
//
// Notation per query row i and key j of the block (allowed pairs only):
//   P_ij = exp(scale·q_i·k_j - LSE_i)   with the final LSE of the forward pass
//   dS_ij = P_ij·(dO_i·v_j - D_i)       with D_i = rowsum(dO_i ∘ O_i)
//   dQ_i += scale·Σ_j dS_ij·k_j,  dK_j = scale·Σ_i dS_ij·q_i,  dV_j = Σ_i P_ij·dO_i
// With GQA, dK and dV of a kv head sum over the query heads that share it.
#pragma once

#include <cstddef>
#include <string>

#include "ring/BlockMask.hpp"

namespace ringbench {

// This rank's side of the backward pass, fixed for the whole pass.
struct BackwardInputs {
  const void* q = nullptr;     // [batch, heads, rows, head_dim], input dtype
  const void* d_o = nullptr;   // dO, shaped and typed like q
  const float* o = nullptr;    // the forward output, fp32, like q
  const float* lse = nullptr;  // the forward's final log-sum-exp, fp32 [batch, heads, rows]
  float* delta = nullptr;      // D, fp32 [batch, heads, rows]: filled by prepare()
};

class BlockBackwardKernel {
 public:
  virtual ~BlockBackwardKernel() = default;
  virtual std::string name() const = 0;
  // Start of a backward pass: D = rowsum(dO ∘ O) into in.delta, and dq = 0.
  virtual void prepare(const BackwardInputs& in, float* dq) = 0;
  // kv: packed K then V of the block, each [batch, kv_heads, rows, head_dim] in the input dtype.
  // Adds this block's contribution into dq (fp32, like q) and WRITES the block's gradients from
  // this rank's queries into dkv (fp32, packed dK then dV like kv; zero for keys no query of this
  // rank may attend), so dkv needs no clearing between steps.
  virtual void attend_backward(const BackwardInputs& in, const void* kv, const BlockMask& mask,
                               float* dq, float* dkv) = 0;
  // acc += part over `count` fp32 values: folds this rank's dK/dV into the travelling accumulator.
  virtual void accumulate(float* acc, const float* part, std::size_t count) = 0;
};

}  // namespace ringbench
