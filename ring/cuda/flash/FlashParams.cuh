// The forward flash kernels' parameters (passed by value), constants and launch check.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "flash/BlockAttention.cuh"
#include "flash/CudaCheck.cuh"
#include "flash/PtxPrimitives.cuh"

namespace ringbench::cuda {
namespace {

using namespace ptx;  // cp.async, ldmatrix, ex2, ElemOps, swizzled tiles

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr unsigned kFullMask = 0xffffffffu;

// Kernel parameters, passed by value.
struct FlashParams {
  const void* q;
  const void* k;
  const void* v;
  const int32_t* q_pos;
  const int32_t* kv_pos;
  float* o_acc;
  float* lse_acc;
  int heads, kv_heads, group;  // group = heads / kv_heads (GQA)
  int q_len, kv_len;
  float scale_log2;  // softmax_scale * log2(e): softmax is evaluated with exp2
  // Key j is allowed for query i iff q_pos[i] - band_left <= kv_pos[j] <= q_pos[i] + band_right
  // (causal: band_left unbounded, band_right 0); without `banded` every key is allowed.
  bool banded;
  int band_left, band_right;
  // Mask terms (longformer, bigbird, blocksparse): the block visits its listed key tiles and
  // tests the pairs of the partial ones with `terms`; tile_entries is nullptr otherwise.
  const int32_t* tile_offsets;
  const int32_t* tile_entries;
  const int32_t* tile_order;  // query blocks, most tiles first
  PairTerms terms;
  __host__ __device__ bool listed() const { return tile_entries != nullptr; }
  __host__ __device__ bool uses_positions() const { return banded || listed(); }
};

}  // namespace
}  // namespace ringbench::cuda
