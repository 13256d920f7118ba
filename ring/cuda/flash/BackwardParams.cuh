// The backward flash kernels' parameters (passed by value) and the helpers both main loops use:
// the dq reduction and the search for a key tile's first visible query.
// A private part of FlashBackwardKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "flash/BlockAttention.cuh"
#include "flash/PtxPrimitives.cuh"

namespace ringbench::cuda {
namespace {

using namespace ptx;  // cp.async, ldmatrix, ex2, ElemOps, swizzled tiles

constexpr float kLog2e = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

struct BwdParams {
  const void *q, *d_o, *k, *v;
  const float *lse, *delta;
  const int32_t *q_pos, *kv_pos;
  float *dq, *dk, *dv;
  int heads, kv_heads, group;  // group = heads / kv_heads
  int q_len, kv_len;
  float scale;       // softmax_scale: dK and dQ carry it
  float scale_log2;  // softmax_scale * log2(e): P is evaluated with exp2
  bool causal;
  // Mask terms (every pattern but none and causal): the key block visits its listed query
  // tiles and tests the pairs of partial ones with `terms`; tile_entries is nullptr otherwise.
  const int32_t *tile_offsets, *tile_entries, *tile_order;
  PairTerms terms;
  __host__ __device__ bool listed() const { return tile_entries != nullptr; }
};

// dq is shared by every key tile: fire-and-forget vector reductions where the ISA has them.
__device__ __forceinline__ void atomic_add_f2(float* dst, float x, float y) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float2*>(dst), make_float2(x, y));
#else
  atomicAdd(dst, x);
  atomicAdd(dst + 1, y);
#endif
}

// First index in [0, len) whose position is >= value (len when none): 32 probes per round.
__device__ int warp_first_geq(const int32_t* pos, int len, int32_t value) {
  const int lane = threadIdx.x & 31;
  int lo = 0, hi = len;
  while (lo < hi) {
    const int step = (hi - lo + 31) / 32;
    const int idx = lo + (lane + 1) * step - 1;
    const bool below = idx < hi && __ldg(pos + idx) < value;
    const int n = __popc(__ballot_sync(kFullMask, below));  // probes 0..n-1 are below
    const int new_lo = min(lo + n * step, hi);
    if (n < 32) hi = min(hi, lo + (n + 1) * step - 1);
    lo = new_lo;
  }
  return lo;
}

// Accumulators of two adjacent n8 tiles as the A operand of one k16 step.
template <typename T, int kNT>
__device__ __forceinline__ void pack_a(uint32_t (&a)[kNT / 2][4], const float (&x)[kNT][4]) {
#pragma unroll
  for (int ks = 0; ks < kNT / 2; ++ks) {
    a[ks][0] = ElemOps<T>::pack(x[2 * ks][0], x[2 * ks][1]);
    a[ks][1] = ElemOps<T>::pack(x[2 * ks][2], x[2 * ks][3]);
    a[ks][2] = ElemOps<T>::pack(x[2 * ks + 1][0], x[2 * ks + 1][1]);
    a[ks][3] = ElemOps<T>::pack(x[2 * ks + 1][2], x[2 * ks + 1][3]);
  }
}

}  // namespace
}  // namespace ringbench::cuda
