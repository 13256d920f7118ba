// Simple fp32 GPU reference for the block-attention backward pass (the check's ground truth).
// Correctness first: scores, probabilities (accurate expf) and all three gradients are fp32;
// the mask is judged per pair from q_pos/kv_pos. Operands are staged through shared memory so
// that 32K x 32K x 32 heads still finishes in seconds.
//
// Two kernels, each owning its output so that nothing needs atomics:
//   * dq kernel: a block owns 64 query rows (8 warps x 8 rows) of one head and walks the keys
//     32 at a time: lane j scores key j against its warp's rows, writes dS to shared memory,
//     then each lane accumulates its own head_dim slice (d = lane + 32 i) of dQ.
//   * dkv kernel: a block owns 64 keys (8 warps x 8 keys) of one kv head and walks the queries
//     of every head of its GQA group 32 at a time, the same way with the roles swapped.
#include "flash/BlockAttentionBackward.cuh"
#include "flash/ReferenceSupport.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

// This file's names for the shared reference error checks.
namespace ringbench::cuda {
namespace {

using namespace reference;  // to_float, stage_rows

constexpr int kWarps = 8;
constexpr int kOwnPerWarp = 8;              // rows (dq) or keys (dkv) a warp owns
constexpr int kOwn = kWarps * kOwnPerWarp;  // owned rows per block
constexpr int kChunk = 32;                  // streamed rows per step: one per lane
constexpr int kMaxDimsPerLane = 8;          // head_dim <= 256
constexpr int kMaxHeadDim = 32 * kMaxDimsPerLane;

struct RefBwdParams {
  const void *q, *d_o, *k, *v;
  const float *lse, *delta;
  const int32_t *q_pos, *kv_pos;
  float *dq, *dk, *dv;
  int heads, kv_heads, head_dim, q_len, kv_len;
  bool causal;
  bool use_terms;  // mask terms: every pair judged by `terms`
  PairTerms terms;
  float scale;
};

// For real tokens only: the block map is read at the pair's blocks.
__device__ __forceinline__ bool pair_allowed(const RefBwdParams& p, int32_t q, int32_t k) {
  return p.use_terms ? terms_allow(p.terms, q, k) : (!p.causal || k <= q);
}

// Owned rows are read by all lanes at once (broadcast, stride D); streamed rows are read one
// per lane, so their stride is padded to D + 1 to spread them over the banks.
size_t dq_smem_bytes(int D) {
  return sizeof(float) *
         (2 * size_t(kOwn) * D + 2 * size_t(kChunk) * (D + 1) + size_t(kOwn) * kChunk);
}
size_t dkv_smem_bytes(int D) {
  return sizeof(float) *
         (2 * size_t(kOwn) * D + 2 * size_t(kChunk) * (D + 1) + 2 * size_t(kOwn) * kChunk);
}

template <typename T>
__global__ void __launch_bounds__(kWarps * 32) reference_dq_kernel(const RefBwdParams p) {
  extern __shared__ float smem[];
  const int D = p.head_dim;
  float* qs = smem;                    // [kOwn][D]
  float* dos = qs + kOwn * D;          // [kOwn][D]
  float* ks = dos + kOwn * D;          // [kChunk][D + 1]
  float* vs = ks + kChunk * (D + 1);   // [kChunk][D + 1]
  float* dss = vs + kChunk * (D + 1);  // [kOwn][kChunk]

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q0 = blockIdx.x * kOwn;
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / (p.heads / p.kv_heads)) * p.kv_len;
  const T* q = static_cast<const T*>(p.q) + q_row0 * D;
  const T* d_o = static_cast<const T*>(p.d_o) + q_row0 * D;
  const T* k = static_cast<const T*>(p.k) + kv_row0 * D;
  const T* v = static_cast<const T*>(p.v) + kv_row0 * D;

  stage_rows(qs, D, q, q0, kOwn, p.q_len, D);
  stage_rows(dos, D, d_o, q0, kOwn, p.q_len, D);

  float lse[kOwnPerWarp], delta[kOwnPerWarp], acc[kOwnPerWarp][kMaxDimsPerLane];
  int32_t qpos[kOwnPerWarp];
  for (int r = 0; r < kOwnPerWarp; ++r) {
    const int row = q0 + warp * kOwnPerWarp + r;
    const bool ok = row < p.q_len;
    lse[r] = ok ? p.lse[q_row0 + row] : -INFINITY;  // -inf: the row takes no gradient
    delta[r] = ok ? p.delta[q_row0 + row] : 0.f;
    qpos[r] = ok ? p.q_pos[row] : INT_MIN;
    for (int i = 0; i < kMaxDimsPerLane; ++i) acc[r][i] = 0.f;
  }
  const int32_t block_max_pos = p.q_pos[min(q0 + kOwn, p.q_len) - 1];

  for (int c0 = 0; c0 < p.kv_len; c0 += kChunk) {
    if (p.causal && p.kv_pos[c0] > block_max_pos) break;  // later keys are masked for all rows
    __syncthreads();  // the previous chunk is consumed (and on the first pass qs/dos are staged)
    stage_rows(ks, D + 1, k, c0, kChunk, p.kv_len, D);
    stage_rows(vs, D + 1, v, c0, kChunk, p.kv_len, D);
    __syncthreads();

    const int key = c0 + lane;
    const bool key_ok = key < p.kv_len;
    const int32_t kpos = key_ok ? p.kv_pos[key] : INT_MAX;
    float s[kOwnPerWarp] = {}, dp[kOwnPerWarp] = {};
    for (int d = 0; d < D; ++d) {
      const float kd = ks[lane * (D + 1) + d], vd = vs[lane * (D + 1) + d];
      for (int r = 0; r < kOwnPerWarp; ++r) {
        s[r] = fmaf(qs[(warp * kOwnPerWarp + r) * D + d], kd, s[r]);
        dp[r] = fmaf(dos[(warp * kOwnPerWarp + r) * D + d], vd, dp[r]);
      }
    }
    for (int r = 0; r < kOwnPerWarp; ++r) {
      const bool allowed = key_ok && lse[r] != -INFINITY && pair_allowed(p, qpos[r], kpos);
      const float prob = allowed ? expf(s[r] * p.scale - lse[r]) : 0.f;
      dss[(warp * kOwnPerWarp + r) * kChunk + lane] = prob * (dp[r] - delta[r]);
    }
    __syncwarp();
    for (int j = 0; j < kChunk; ++j)
      for (int i = 0; i < kMaxDimsPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d >= D) break;
        const float kd = ks[j * (D + 1) + d];
        for (int r = 0; r < kOwnPerWarp; ++r)
          acc[r][i] = fmaf(dss[(warp * kOwnPerWarp + r) * kChunk + j], kd, acc[r][i]);
      }
    __syncwarp();  // dss is rewritten by the next chunk
  }

  for (int r = 0; r < kOwnPerWarp; ++r) {
    const int row = q0 + warp * kOwnPerWarp + r;
    if (row >= p.q_len) break;
    float* out = p.dq + (q_row0 + row) * D;
    for (int i = 0; i < kMaxDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d >= D) break;
      out[d] += p.scale * acc[r][i];
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kWarps * 32) reference_dkv_kernel(const RefBwdParams p) {
  extern __shared__ float smem[];
  const int D = p.head_dim;
  float* ks = smem;                    // [kOwn][D]
  float* vs = ks + kOwn * D;           // [kOwn][D]
  float* qs = vs + kOwn * D;           // [kChunk][D + 1]
  float* dos = qs + kChunk * (D + 1);  // [kChunk][D + 1]
  float* ps = dos + kChunk * (D + 1);  // [kOwn][kChunk]
  float* dss = ps + kOwn * kChunk;     // [kOwn][kChunk]

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int k0 = blockIdx.x * kOwn;
  const int kv_head = blockIdx.y, batch = blockIdx.z;
  const int group = p.heads / p.kv_heads;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + kv_head) * p.kv_len;
  const T* k = static_cast<const T*>(p.k) + kv_row0 * D;
  const T* v = static_cast<const T*>(p.v) + kv_row0 * D;

  stage_rows(ks, D, k, k0, kOwn, p.kv_len, D);
  stage_rows(vs, D, v, k0, kOwn, p.kv_len, D);

  float dk[kOwnPerWarp][kMaxDimsPerLane], dv[kOwnPerWarp][kMaxDimsPerLane];
  int32_t kpos[kOwnPerWarp];
  for (int r = 0; r < kOwnPerWarp; ++r) {
    const int key = k0 + warp * kOwnPerWarp + r;
    kpos[r] = key < p.kv_len ? p.kv_pos[key] : INT_MAX;  // keys past kv_len: never allowed
    for (int i = 0; i < kMaxDimsPerLane; ++i) dk[r][i] = dv[r][i] = 0.f;
  }
  const int32_t block_min_pos = p.kv_pos[k0];

  for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
    const size_t q_row0 = (size_t(batch) * p.heads + h) * p.q_len;
    const T* q = static_cast<const T*>(p.q) + q_row0 * D;
    const T* d_o = static_cast<const T*>(p.d_o) + q_row0 * D;
    for (int c0 = 0; c0 < p.q_len; c0 += kChunk) {
      // Queries before every key of the block see none of it (uniform across the block).
      if (p.causal && p.q_pos[min(c0 + kChunk, p.q_len) - 1] < block_min_pos) continue;
      __syncthreads();
      stage_rows(qs, D + 1, q, c0, kChunk, p.q_len, D);
      stage_rows(dos, D + 1, d_o, c0, kChunk, p.q_len, D);
      __syncthreads();

      const int row = c0 + lane;
      const bool row_ok = row < p.q_len;
      const float lse = row_ok ? p.lse[q_row0 + row] : -INFINITY;
      const float delta = row_ok ? p.delta[q_row0 + row] : 0.f;
      const int32_t qpos = row_ok ? p.q_pos[row] : INT_MIN;
      float s[kOwnPerWarp] = {}, dp[kOwnPerWarp] = {};
      for (int d = 0; d < D; ++d) {
        const float qd = qs[lane * (D + 1) + d], od = dos[lane * (D + 1) + d];
        for (int r = 0; r < kOwnPerWarp; ++r) {
          s[r] = fmaf(ks[(warp * kOwnPerWarp + r) * D + d], qd, s[r]);
          dp[r] = fmaf(vs[(warp * kOwnPerWarp + r) * D + d], od, dp[r]);
        }
      }
      for (int r = 0; r < kOwnPerWarp; ++r) {
        const bool allowed =
            lse != -INFINITY && kpos[r] != INT_MAX && pair_allowed(p, qpos, kpos[r]);
        const float prob = allowed ? expf(s[r] * p.scale - lse) : 0.f;
        ps[(warp * kOwnPerWarp + r) * kChunk + lane] = prob;
        dss[(warp * kOwnPerWarp + r) * kChunk + lane] = prob * (dp[r] - delta);
      }
      __syncwarp();
      for (int j = 0; j < kChunk; ++j)
        for (int i = 0; i < kMaxDimsPerLane; ++i) {
          const int d = lane + 32 * i;
          if (d >= D) break;
          const float qd = qs[j * (D + 1) + d], od = dos[j * (D + 1) + d];
          for (int r = 0; r < kOwnPerWarp; ++r) {
            dk[r][i] = fmaf(dss[(warp * kOwnPerWarp + r) * kChunk + j], qd, dk[r][i]);
            dv[r][i] = fmaf(ps[(warp * kOwnPerWarp + r) * kChunk + j], od, dv[r][i]);
          }
        }
      __syncwarp();
    }
  }

  for (int r = 0; r < kOwnPerWarp; ++r) {
    const int key = k0 + warp * kOwnPerWarp + r;
    if (key >= p.kv_len) break;
    float* out_k = p.dk + (kv_row0 + key) * D;
    float* out_v = p.dv + (kv_row0 + key) * D;
    for (int i = 0; i < kMaxDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d >= D) break;
      out_k[d] = p.scale * dk[r][i];
      out_v[d] = dv[r][i];
    }
  }
}

}  // namespace

void reference_attend_backward(const BlockBackwardArgs& a, cudaStream_t stream) {
  if (a.batch <= 0 || a.heads <= 0 || a.kv_heads <= 0 || a.q_len <= 0 || a.kv_len <= 0 ||
      a.head_dim <= 0 || a.head_dim > kMaxHeadDim || a.heads % a.kv_heads != 0 || a.heads > 65535 ||
      a.batch > 65535)
    throw std::runtime_error("reference_attend_backward: unsupported shape");
  const RefBwdParams p{a.q,
                       a.d_o,
                       a.k,
                       a.v,
                       a.lse,
                       a.delta,
                       a.q_pos,
                       a.kv_pos,
                       a.dq,
                       a.dk,
                       a.dv,
                       a.heads,
                       a.kv_heads,
                       a.head_dim,
                       a.q_len,
                       a.kv_len,
                       a.mask == MaskKind::causal,
                       a.mask == MaskKind::terms,
                       a.terms,
                       a.softmax_scale};
  auto launch = [&](auto kernel, dim3 grid, size_t smem) {
    FLASH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
    kernel<<<grid, kWarps * 32, smem, stream>>>(p);
    FLASH_CHECK_LAUNCH();
  };
  const dim3 dq_grid((a.q_len + kOwn - 1) / kOwn, a.heads, a.batch);
  const dim3 dkv_grid((a.kv_len + kOwn - 1) / kOwn, a.kv_heads, a.batch);
  if (a.type == ElementType::bf16) {
    launch(reference_dq_kernel<__nv_bfloat16>, dq_grid, dq_smem_bytes(a.head_dim));
    launch(reference_dkv_kernel<__nv_bfloat16>, dkv_grid, dkv_smem_bytes(a.head_dim));
  } else {
    launch(reference_dq_kernel<__half>, dq_grid, dq_smem_bytes(a.head_dim));
    launch(reference_dkv_kernel<__half>, dkv_grid, dkv_smem_bytes(a.head_dim));
  }
}

}  // namespace ringbench::cuda
