// Backward pass of block attention for ring attention: the gradients of one K/V block's
// contribution, given the FINAL log-sum-exp of the forward pass (see ring/BlockBackwardKernel.hpp
// for the math and the CPU implementation it mirrors).
#pragma once

#include <cuda_runtime.h>
#include <cstdint>

#include "flash/BlockAttention.cuh"

namespace ringbench::cuda {

struct BlockBackwardArgs {
  const void* q;          // [batch, heads, q_len, head_dim] row-major, element type
  const void* d_o;        // dO, shaped and typed like q
  const void* k;          // [batch, kv_heads, kv_len, head_dim]
  const void* v;          // [batch, kv_heads, kv_len, head_dim]
  const float* lse;       // [batch, heads, q_len] final LSE of the forward (natural log of scaled
                          // scores); -INFINITY for rows that attend to nothing
  const float* delta;     // [batch, heads, q_len] D = rowsum(dO ∘ O)
  const int32_t* q_pos;   // device, [q_len] global token positions, strictly increasing
  const int32_t* kv_pos;  // device, [kv_len] strictly increasing
  float* dq;              // [batch, heads, q_len, head_dim] fp32: this block's part is ADDED
  float* dk;              // [batch, kv_heads, kv_len, head_dim] fp32: OVERWRITTEN with this
  float* dv;              //   block's gradients from these queries (0 for unattended keys)
  int batch, heads, kv_heads, head_dim, q_len, kv_len;
  ElementType type;
  MaskKind mask;    // none, causal (key j allowed for query i iff kv_pos[j] <= q_pos[i]), or
                    // terms (every other pattern; band is not taken: write it as terms)
  PairTerms terms;  // with mask terms
  TileList tiles;   // with mask terms: the flash kernel's lists (128-key blocks, 64-query tiles)
  float softmax_scale;  // scores = softmax_scale * dot(q, k)
};

// Per allowed pair (i, j): P = exp(scale·q_i·k_j - LSE_i), dS = P·(dO_i·v_j - D_i);
//   dQ_i += scale·Σ_j dS_ij k_j,  dK_j = scale·Σ_i dS_ij q_i,  dV_j = Σ_i P_ij dO_i.
// With GQA (query head h uses kv head h / (heads / kv_heads)) dK/dV sum over the group.
// Both are asynchronous on `stream` and throw std::runtime_error on launch errors;
// flash_attend_backward also throws when !flash_backward_supports(a).
void flash_attend_backward(const BlockBackwardArgs& a, cudaStream_t stream);
void reference_attend_backward(const BlockBackwardArgs& a, cudaStream_t stream);

// head_dim 64 or 128, heads % kv_heads == 0, softmax_scale > 0, 16-byte aligned q/d_o/k/v and
// dq/dk/dv, positive sizes; with mask terms, tile lists.
bool flash_backward_supports(const BlockBackwardArgs& a);

// Test and benchmark hooks: the kernel configurations flash_attend_backward chooses among.
int flash_backward_variant_count();
const char* flash_backward_variant_name(int variant);
bool flash_backward_variant_supports(int variant, const BlockBackwardArgs& a);
int flash_backward_default_variant(const BlockBackwardArgs& a);  // -1 when none supports `a`
void flash_attend_backward_variant(int variant, const BlockBackwardArgs& a, cudaStream_t stream);

}  // namespace ringbench::cuda
