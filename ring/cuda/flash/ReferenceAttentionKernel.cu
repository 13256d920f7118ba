// Simple fp32 GPU reference for block attention with the merge into a running output.
// Correctness first: every score, softmax step and merge is computed in fp32 with accurate
// expf/logf. It still stages K/V through shared memory so that long sequences (64K x 64K)
// finish in seconds rather than hours.
//
// Layout of the work: a block owns 64 query rows (8 warps x 8 rows). K/V are staged 32 keys at
// a time; lane j of a warp scores key j against the warp's 8 rows, the warp runs one online
// softmax step per row, then each lane accumulates its own head_dim slice (d = lane + 32 i).
#include "flash/BlockAttention.cuh"
#include "flash/ReferenceSupport.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ringbench::cuda {
namespace {

using namespace reference;  // to_float, stage_rows

constexpr int kWarps = 8;
constexpr int kRowsPerWarp = 8;
constexpr int kRows = kWarps * kRowsPerWarp;  // query rows per block
constexpr int kKeys = 32;                     // keys per staged chunk: one per lane
constexpr int kMaxDimsPerLane = 8;            // head_dim <= 256
constexpr int kMaxHeadDim = 32 * kMaxDimsPerLane;
constexpr unsigned kFullMask = 0xffffffffu;

struct RefParams {
  const void* q;
  const void* k;
  const void* v;
  const int32_t* q_pos;
  const int32_t* kv_pos;
  float* o_acc;
  float* lse_acc;
  int heads, kv_heads, head_dim, q_len, kv_len;
  BandLimits band;
  bool use_terms;  // mask terms: every pair judged by `terms` (the band is then unused)
  PairTerms terms;
  float scale;
};

__device__ __forceinline__ float warp_max(float x) {
  for (int off = 16; off > 0; off /= 2) x = fmaxf(x, __shfl_xor_sync(kFullMask, x, off));
  return x;
}

__device__ __forceinline__ float warp_sum(float x) {
  for (int off = 16; off > 0; off /= 2) x += __shfl_xor_sync(kFullMask, x, off);
  return x;
}

size_t smem_bytes(int head_dim) {
  const size_t floats = size_t(kRows) * head_dim          // queries
                        + size_t(kKeys) * (head_dim + 1)  // keys, padded: lane j reads row j
                        + size_t(kKeys) * head_dim        // values
                        + size_t(kRows) * kKeys;          // probabilities of the current chunk
  return floats * sizeof(float);
}

template <typename T>
__global__ void __launch_bounds__(kWarps * 32) reference_kernel(const RefParams p) {
  extern __shared__ float smem[];
  const int D = p.head_dim;
  float* qs = smem;
  float* ks = qs + kRows * D;
  float* vs = ks + kKeys * (D + 1);
  float* ps = vs + kKeys * D;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q0 = blockIdx.x * kRows;
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / (p.heads / p.kv_heads)) * p.kv_len;
  const T* q = static_cast<const T*>(p.q) + q_row0 * D;
  const T* k = static_cast<const T*>(p.k) + kv_row0 * D;
  const T* v = static_cast<const T*>(p.v) + kv_row0 * D;

  stage_rows(qs, D, q, q0, kRows, p.q_len, D);

  float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][kMaxDimsPerLane];
  int32_t qpos[kRowsPerWarp];
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = q0 + warp * kRowsPerWarp + r;
    m[r] = -INFINITY;
    l[r] = 0.f;
    for (int i = 0; i < kMaxDimsPerLane; ++i) o[r][i] = 0.f;
    qpos[r] = row < p.q_len ? p.q_pos[row] : INT_MIN;  // rows past q_len: nothing allowed
  }
  // Keys are increasing, so under a band mask the chunks past the block's last band end it.
  const long long block_max_key = (long long)p.q_pos[min(q0 + kRows, p.q_len) - 1] + p.band.right;

  for (int c0 = 0; c0 < p.kv_len; c0 += kKeys) {
    if (p.band.banded && p.kv_pos[c0] > block_max_key) break;  // uniform across the block
    __syncthreads();  // the previous chunk (and on the first pass qs) is complete
    stage_rows(ks, D + 1, k, c0, kKeys, p.kv_len, D);
    stage_rows(vs, D, v, c0, kKeys, p.kv_len, D);
    __syncthreads();

    const int key = c0 + lane;
    const bool key_ok = key < p.kv_len;
    const int32_t kpos = key_ok ? p.kv_pos[key] : 0;
    float s[kRowsPerWarp] = {};
    for (int d = 0; d < D; ++d) {
      const float kd = ks[lane * (D + 1) + d];
      for (int r = 0; r < kRowsPerWarp; ++r) s[r] += qs[(warp * kRowsPerWarp + r) * D + d] * kd;
    }

    for (int r = 0; r < kRowsPerWarp; ++r) {
      // qpos INT_MIN marks rows past q_len; differences of real positions fit an int
      const bool real = key_ok && qpos[r] != INT_MIN;
      const bool in_band = !p.band.banded || (real && kpos - qpos[r] <= p.band.right &&
                                              qpos[r] - kpos <= p.band.left);
      const bool allowed = real && (p.use_terms ? terms_allow(p.terms, qpos[r], kpos) : in_band);
      const float x = allowed ? s[r] * p.scale : -INFINITY;
      const float m_new = fmaxf(m[r], warp_max(x));
      float prob = 0.f, alpha = 1.f;
      if (m_new != -INFINITY) {  // warp-uniform; otherwise nothing is allowed yet
        prob = allowed ? expf(x - m_new) : 0.f;
        alpha = expf(m[r] - m_new);  // 0 when m[r] is still -inf
      }
      l[r] = l[r] * alpha + warp_sum(prob);
      for (int i = 0; i < kMaxDimsPerLane; ++i) o[r][i] *= alpha;
      m[r] = m_new;
      ps[(warp * kRowsPerWarp + r) * kKeys + lane] = prob;
    }
    __syncwarp();
    for (int j = 0; j < kKeys; ++j) {
      for (int i = 0; i < kMaxDimsPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d >= D) break;
        const float vd = vs[j * D + d];
        for (int r = 0; r < kRowsPerWarp; ++r)
          o[r][i] += ps[(warp * kRowsPerWarp + r) * kKeys + j] * vd;
      }
    }
  }

  // Merge into the running output. All lanes read the old LSE before lane 0 replaces it.
  float lse_old[kRowsPerWarp];
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = q0 + warp * kRowsPerWarp + r;
    lse_old[r] = (row < p.q_len && l[r] > 0.f) ? p.lse_acc[q_row0 + row] : 0.f;
  }
  __syncwarp();
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = q0 + warp * kRowsPerWarp + r;
    if (row >= p.q_len || !(l[r] > 0.f)) continue;  // no allowed key: leave the row untouched
    const float lse_blk = m[r] + logf(l[r]);
    const bool fresh = lse_old[r] == -INFINITY;
    float lse_new = lse_blk, w_old = 0.f;
    if (!fresh) {
      const float hi = fmaxf(lse_old[r], lse_blk), lo = fminf(lse_old[r], lse_blk);
      lse_new = hi + log1pf(expf(lo - hi));
      w_old = expf(lse_old[r] - lse_new);
    }
    const float w_blk = expf(lse_blk - lse_new) / l[r];
    float* out = p.o_acc + (q_row0 + row) * D;
    for (int i = 0; i < kMaxDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d >= D) break;
      const float blk = o[r][i] * w_blk;
      out[d] = fresh ? blk : fmaf(out[d], w_old, blk);
    }
    if (lane == 0) p.lse_acc[q_row0 + row] = lse_new;
  }
}

}  // namespace

void reference_attend_merge(const BlockAttentionArgs& a, cudaStream_t stream) {
  if (a.batch <= 0 || a.heads <= 0 || a.kv_heads <= 0 || a.q_len <= 0 || a.kv_len <= 0 ||
      a.head_dim <= 0 || a.head_dim > kMaxHeadDim || a.heads % a.kv_heads != 0 || a.heads > 65535 ||
      a.batch > 65535)
    throw std::runtime_error("reference_attend_merge: unsupported shape");
  const RefParams p{a.q,
                    a.k,
                    a.v,
                    a.q_pos,
                    a.kv_pos,
                    a.o_acc,
                    a.lse_acc,
                    a.heads,
                    a.kv_heads,
                    a.head_dim,
                    a.q_len,
                    a.kv_len,
                    band_limits(a),
                    a.mask == MaskKind::terms,
                    a.terms,
                    a.softmax_scale};
  const dim3 grid((a.q_len + kRows - 1) / kRows, a.heads, a.batch);
  const size_t smem = smem_bytes(a.head_dim);
  auto launch = [&](auto kernel) {
    FLASH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
    kernel<<<grid, kWarps * 32, smem, stream>>>(p);
    FLASH_CHECK_LAUNCH();
  };
  if (a.type == ElementType::bf16)
    launch(reference_kernel<__nv_bfloat16>);
  else
    launch(reference_kernel<__half>);
}

}  // namespace ringbench::cuda
