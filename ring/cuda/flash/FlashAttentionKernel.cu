// Flash-attention block kernel for ring attention (tensor cores through mma.sync).
//
// One thread block owns kBlockM query rows of one (batch, head); each warp owns
// 16 * kMTiles of those rows. The block streams the K/V block in tiles of kBlockN keys
// through shared memory (cp.async, two stages), and each warp runs
//   S = Q K^T (mma m16n8k16, fp32 accumulate) -> mask -> online softmax (fp32, exp2) ->
//   O += P V (P re-packed from the S accumulators, never touching shared memory).
// The epilogue normalizes O and merges it with the running (o_acc, lse_acc) in one
// read-modify-write per element.
//
// Cost model (B=1, H=32, S=16K, D=128): 4*H*S*S*D = 4.4 TFLOP against ~0.3 GB of compulsory
// traffic (Q, K, V once, o_acc read+write), so the kernel is bound by tensor-core issue,
// the exp2 unit and shared-memory bandwidth, not by DRAM. Giving each warp 32 query rows
// (kMTiles = 2) halves the shared-memory bytes per MMA compared with 16 rows per warp: each
// K/V fragment loaded with ldmatrix feeds four MMAs instead of two.
#include "flash/BlockAttention.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#define FLASH_CUDA_CHECK(expr)                                                              \
  do {                                                                                      \
    const cudaError_t flash_err_ = (expr);                                                  \
    if (flash_err_ != cudaSuccess)                                                          \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) +   \
                               ": " + cudaGetErrorString(flash_err_));                     \
  } while (0)
#define FLASH_CHECK_LAUNCH() FLASH_CUDA_CHECK(cudaGetLastError())

namespace ringbench::cuda {
namespace {

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
  bool causal;
};

// ------------------------------------------------------------------------------------------
// PTX wrappers
// ------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global -> shared; when !valid it writes 16 zero bytes instead (the
// zero-fill matters: P = 0 times uninitialized V could still be NaN).
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ float fast_exp2(float x) {  // ex2.approx(-inf) = +0
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Element-type specific pieces: the MMA instruction and the fp32 -> 16-bit packing of P.
template <typename T>
struct ElemOps;

template <>
struct ElemOps<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

template <>
struct ElemOps<__half> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

// ------------------------------------------------------------------------------------------
// Configuration
// ------------------------------------------------------------------------------------------

template <int kD, int kBN, int kWarps, int kMT, int kMinBlocks>
struct MmaConfig {
  static constexpr int kHeadDim = kD;
  static constexpr int kBlockN = kBN;  // keys per K/V tile
  static constexpr int kNumWarps = kWarps;
  static constexpr int kMTiles = kMT;  // 16-row MMA tiles per warp
  static constexpr int kMinBlocksPerSm = kMinBlocks;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kRowsPerWarp = 16 * kMT;
  static constexpr int kBlockM = kWarps * kRowsPerWarp;
  static constexpr int kNTiles = kBN / 8;  // n8 tiles of a score tile
  static constexpr int kDTiles = kD / 8;   // n8 tiles of the output
  static constexpr int kRowBytes = kD * 2;
  static constexpr int kQBytes = kBlockM * kRowBytes;
  static constexpr int kTileBytes = kBN * kRowBytes;
  static constexpr int kStageBytes = 2 * kTileBytes;  // K then V
  static constexpr int kSmemBytes = kQBytes + 2 * kStageBytes;
  static_assert(kD % 64 == 0 && kBN % 16 == 0, "swizzle needs >= 8 chunks of 16 bytes a row");
};

// Shared-memory tiles are row-major with 16-byte chunks XOR-swizzled by (row % 8): the
// 8 rows an ldmatrix phase reads at one logical chunk then hit 8 different bank groups.
template <int kRowBytes>
__device__ __forceinline__ uint32_t swizzled(int row, int chunk) {
  return row * kRowBytes + ((chunk ^ (row & 7)) << 4);
}

// Copy rows [0, kRows) of a row-major [*, D] matrix into a swizzled tile; rows >= valid_rows
// are zero-filled (tails of q_len / kv_len).
template <class C, int kRows>
__device__ __forceinline__ void load_rows_async(uint32_t dst, const uint16_t* src,
                                                int valid_rows) {
  constexpr int kChunks = C::kHeadDim / 8;
  constexpr int kTotal = kRows * kChunks;
  static_assert(kTotal % C::kThreads == 0, "tile copy must divide evenly over the block");
#pragma unroll
  for (int it = 0; it < kTotal / C::kThreads; ++it) {
    const int i = static_cast<int>(threadIdx.x) + it * C::kThreads;
    const int row = i / kChunks, chunk = i % kChunks;
    const bool valid = row < valid_rows;
    const uint16_t* g = valid ? src + row * C::kHeadDim + chunk * 8 : src;
    cp_async_16(dst + swizzled<C::kRowBytes>(row, chunk), g, valid);
  }
}

// ------------------------------------------------------------------------------------------
// Mask classification
// ------------------------------------------------------------------------------------------

// Number of entries of the increasing array pos[] that are <= value, given that the answer
// lies in [lo, hi]. The whole warp probes 32 points per round, so 64K keys take 4 rounds.
__device__ int warp_count_leq(const int32_t* pos, int lo, int hi, int32_t value) {
  const int lane = threadIdx.x & 31;
  while (lo < hi) {
    const int step = (hi - lo + 31) / 32;
    const int idx = lo + (lane + 1) * step - 1;
    const bool le = idx < hi && __ldg(pos + idx) <= value;
    const int below = __popc(__ballot_sync(kFullMask, le));  // probes 0..below-1 are <= value
    const int new_lo = min(lo + below * step, hi);
    if (below < 32) hi = min(hi, lo + (below + 1) * step - 1);
    lo = new_lo;
  }
  return lo;
}

// Keys [0, full) are allowed for every row of a warp, keys >= end for none of them, keys in
// between need the per-element test. Positions increase, so each is a prefix of the block.
struct KeyRange {
  int full;
  int end;
};

template <class C>
__device__ KeyRange warp_key_range(const FlashParams& p, int q0, int q_rows, int warp) {
  const int first = warp * C::kRowsPerWarp;
  if (first >= q_rows) return {0, 0};  // warp past the end of q_len: no work
  if (!p.causal) return {p.kv_len, p.kv_len};
  const int last = min(first + C::kRowsPerWarp, q_rows) - 1;
  const int full = warp_count_leq(p.kv_pos, 0, p.kv_len, __ldg(p.q_pos + q0 + first));
  const int end = warp_count_leq(p.kv_pos, full, p.kv_len, __ldg(p.q_pos + q0 + last));
  return {full, end};
}

// ------------------------------------------------------------------------------------------
// Per-warp math
// ------------------------------------------------------------------------------------------

template <class C>
struct WarpState {
  float o[C::kMTiles][C::kDTiles][4];  // unnormalized output accumulators (MMA C layout)
  float m[C::kMTiles][2];              // running max of scaled scores (log2 units), rows g, g+8
  float l[C::kMTiles][2];              // running sum of exp2, partial over this thread's columns
};

// S = Q K^T for the warp's rows and the kBlockN keys of the tile.
template <class C, typename T>
__device__ __forceinline__ void compute_scores(float (&s)[C::kMTiles][C::kNTiles][4],
                                               uint32_t q_tile, uint32_t k_tile, int warp,
                                               int lane) {
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < C::kNTiles; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) s[mt][nt][c] = 0.f;

  // ldmatrix addressing. Q (A operand): lanes 0-15 give rows 0-15 at the low 8 columns of the
  // k16 slice, lanes 16-31 the same rows at the high 8 -> registers a0..a3 of m16n8k16.
  // K (B operand, stored [key][d] = "col" layout): lanes 0-7 keys 0-7 low d, 8-15 keys 0-7
  // high d, 16-31 the same for keys 8-15 -> b0, b1 of two adjacent n8 tiles.
  // Every row an ldmatrix lane addresses has row % 8 == lane % 8, so the swizzle is a
  // per-lane XOR on the chunk index.
  const int q_row = warp * C::kRowsPerWarp + (lane & 15);
  const int q_xor = (lane >> 4) ^ (lane & 7);
  const int k_row = (lane & 7) + ((lane >> 4) << 3);
  const int k_xor = ((lane >> 3) & 1) ^ (lane & 7);

#pragma unroll
  for (int kc = 0; kc < C::kHeadDim / 16; ++kc) {
    uint32_t a[C::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < C::kMTiles; ++mt)
      ldmatrix_x4(a[mt], q_tile + (q_row + mt * 16) * C::kRowBytes + (((2 * kc) ^ q_xor) << 4));
#pragma unroll
    for (int np = 0; np < C::kNTiles / 2; ++np) {
      uint32_t b[4];
      ldmatrix_x4(b, k_tile + (k_row + np * 16) * C::kRowBytes + (((2 * kc) ^ k_xor) << 4));
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt) {
        ElemOps<T>::mma(s[mt][2 * np], a[mt], b[0], b[1]);
        ElemOps<T>::mma(s[mt][2 * np + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// Set disallowed scores of a partially masked tile to -inf. Thread lane holds columns
// 8 * nt + 2 * (lane % 4) + {0, 1} of rows g = lane / 4 and g + 8 of each m16 tile.
template <class C>
__device__ __forceinline__ void apply_mask(float (&s)[C::kMTiles][C::kNTiles][4],
                                           const FlashParams& p, KeyRange range, int k0,
                                           const int32_t (&qpos)[C::kMTiles][2], int lane) {
#pragma unroll
  for (int nt = 0; nt < C::kNTiles; ++nt) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int col = k0 + nt * 8 + 2 * (lane & 3) + c;
      const bool in_range = col < range.end;
      const bool check_pos = p.causal && col >= range.full;
      const int32_t kpos = (in_range && check_pos) ? __ldg(p.kv_pos + col) : 0;
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const bool allowed = in_range && (!check_pos || kpos <= qpos[mt][r]);
          if (!allowed) s[mt][nt][2 * r + c] = -INFINITY;
        }
    }
  }
}

// Online softmax step: new running max, rescale of l and O, and S -> P = exp2(S*c - m).
template <class C>
__device__ __forceinline__ void online_softmax(float (&s)[C::kMTiles][C::kNTiles][4],
                                               WarpState<C>& st, float scale_log2) {
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < C::kNTiles; ++nt)
        mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
      // The 4 lanes of a quad hold one row.
      mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 2));
      const float m_new = fmaxf(st.m[mt][r], mx * scale_log2);  // scale > 0 keeps the argmax
      // While every key so far is masked, m_new is -inf: subtract 0 instead so exp2 gives 0
      // rather than NaN.
      const float m_base = m_new == -INFINITY ? 0.f : m_new;
      const float alpha = fast_exp2(st.m[mt][r] - m_base);
      st.m[mt][r] = m_new;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < C::kNTiles; ++nt)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float e = fast_exp2(fmaf(s[mt][nt][2 * r + c], scale_log2, -m_base));
          s[mt][nt][2 * r + c] = e;
          sum += e;
        }
      st.l[mt][r] = st.l[mt][r] * alpha + sum;
#pragma unroll
      for (int dt = 0; dt < C::kDTiles; ++dt) {
        st.o[mt][dt][2 * r] *= alpha;
        st.o[mt][dt][2 * r + 1] *= alpha;
      }
    }
  }
}

// O += P V. The S accumulator layout of two adjacent n8 tiles is exactly the A-operand layout
// of one k16 step, so P goes from registers to the MMA without shared memory.
template <class C, typename T>
__device__ __forceinline__ void accumulate_pv(float (&o)[C::kMTiles][C::kDTiles][4],
                                              const float (&p)[C::kMTiles][C::kNTiles][4],
                                              uint32_t v_tile, int lane) {
  // V is stored [key][d] and is the B operand with k = key, so it is read transposed:
  // lanes 0-7 keys 0-7, lanes 8-15 keys 8-15 (both low d), lanes 16-31 the same at high d.
  const int v_row = (lane & 7) + (((lane >> 3) & 1) << 3);
  const int v_xor = (lane >> 4) ^ (lane & 7);
#pragma unroll
  for (int ks = 0; ks < C::kBlockN / 16; ++ks) {
    uint32_t a[C::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < C::kMTiles; ++mt) {
      a[mt][0] = ElemOps<T>::pack(p[mt][2 * ks][0], p[mt][2 * ks][1]);
      a[mt][1] = ElemOps<T>::pack(p[mt][2 * ks][2], p[mt][2 * ks][3]);
      a[mt][2] = ElemOps<T>::pack(p[mt][2 * ks + 1][0], p[mt][2 * ks + 1][1]);
      a[mt][3] = ElemOps<T>::pack(p[mt][2 * ks + 1][2], p[mt][2 * ks + 1][3]);
    }
#pragma unroll
    for (int dp = 0; dp < C::kDTiles / 2; ++dp) {
      uint32_t b[4];
      ldmatrix_x4_trans(b, v_tile + (v_row + ks * 16) * C::kRowBytes + (((2 * dp) ^ v_xor) << 4));
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt) {
        ElemOps<T>::mma(o[mt][2 * dp], a[mt], b[0], b[1]);
        ElemOps<T>::mma(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// Normalize the block result and merge it into (o_acc, lse_acc):
//   L = logaddexp(L_acc, L_blk);  O = O_acc * exp(L_acc - L) + O_blk * exp(L_blk - L).
// Rows without any allowed key (l == 0) and rows past q_len are left untouched.
template <class C>
__device__ __forceinline__ void write_merged(WarpState<C>& st, const FlashParams& p,
                                             size_t q_row0, int q_rows, int warp, int lane) {
  float lse_old[C::kMTiles][2];
  bool active[C::kMTiles][2];
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float l = st.l[mt][r];
      l += __shfl_xor_sync(kFullMask, l, 1);
      l += __shfl_xor_sync(kFullMask, l, 2);
      st.l[mt][r] = l;
      const int row = warp * C::kRowsPerWarp + mt * 16 + r * 8 + lane / 4;
      active[mt][r] = row < q_rows && l > 0.f;
      lse_old[mt][r] = active[mt][r] ? p.lse_acc[q_row0 + row] : 0.f;
    }
  __syncwarp();  // the whole quad has read lse_acc before its first lane overwrites it

#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if (!active[mt][r]) continue;
      const int row = warp * C::kRowsPerWarp + mt * 16 + r * 8 + lane / 4;
      const float lse_blk = (st.m[mt][r] + log2f(st.l[mt][r])) * kLn2;
      const bool fresh = lse_old[mt][r] == -INFINITY;  // o_acc holds nothing (maybe garbage)
      float lse_new = lse_blk, w_old = 0.f;
      if (!fresh) {
        const float hi = fmaxf(lse_old[mt][r], lse_blk), lo = fminf(lse_old[mt][r], lse_blk);
        lse_new = hi + log1pf(expf(lo - hi));
        w_old = expf(lse_old[mt][r] - lse_new);
      }
      const float w_blk = expf(lse_blk - lse_new) / st.l[mt][r];
      float2* out = reinterpret_cast<float2*>(p.o_acc + (q_row0 + row) * C::kHeadDim) + (lane & 3);
      if (fresh) {
#pragma unroll
        for (int dt = 0; dt < C::kDTiles; ++dt)
          out[dt * 4] = make_float2(st.o[mt][dt][2 * r] * w_blk, st.o[mt][dt][2 * r + 1] * w_blk);
      } else {
        float2 old[C::kDTiles];
#pragma unroll
        for (int dt = 0; dt < C::kDTiles; ++dt) old[dt] = out[dt * 4];
#pragma unroll
        for (int dt = 0; dt < C::kDTiles; ++dt)
          out[dt * 4] = make_float2(fmaf(old[dt].x, w_old, st.o[mt][dt][2 * r] * w_blk),
                                    fmaf(old[dt].y, w_old, st.o[mt][dt][2 * r + 1] * w_blk));
      }
      if ((lane & 3) == 0) p.lse_acc[q_row0 + row] = lse_new;
    }
}

// ------------------------------------------------------------------------------------------
// The kernel
// ------------------------------------------------------------------------------------------

template <class C, typename T>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocksPerSm)
    flash_mma_kernel(const FlashParams p) {
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ int warp_end[C::kNumWarps];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // Late query blocks see the most keys under a causal mask: start them first.
  const int q0 = (gridDim.x - 1 - blockIdx.x) * C::kBlockM;
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / p.group) * p.kv_len;
  const auto* q = static_cast<const uint16_t*>(p.q) + q_row0 * C::kHeadDim;
  const auto* k = static_cast<const uint16_t*>(p.k) + kv_row0 * C::kHeadDim;
  const auto* v = static_cast<const uint16_t*>(p.v) + kv_row0 * C::kHeadDim;

  const uint32_t q_tile = smem_addr(smem);
  const uint32_t kv_stages = q_tile + C::kQBytes;
  auto load_kv = [&](int tile) {
    const int k0 = tile * C::kBlockN;
    const uint32_t stage = kv_stages + (tile & 1) * C::kStageBytes;
    const int rows = min(C::kBlockN, p.kv_len - k0);
    load_rows_async<C, C::kBlockN>(stage, k + size_t(k0) * C::kHeadDim, rows);
    load_rows_async<C, C::kBlockN>(stage + C::kTileBytes, v + size_t(k0) * C::kHeadDim, rows);
  };

  // The Q copy overlaps the mask classification.
  load_rows_async<C, C::kBlockM>(q_tile, q, q_rows);
  cp_async_commit();

  const KeyRange range = warp_key_range<C>(p, q0, q_rows, warp);
  if (lane == 0) warp_end[warp] = range.end;
  __syncthreads();
  int block_end = 0;
#pragma unroll
  for (int w = 0; w < C::kNumWarps; ++w) block_end = max(block_end, warp_end[w]);
  const int num_tiles = (block_end + C::kBlockN - 1) / C::kBlockN;  // masked tiles: never loaded
  if (num_tiles == 0) {  // no query of this block sees any key: o_acc stays untouched
    cp_async_wait_all();
    return;
  }
  load_kv(0);
  cp_async_commit();

  int32_t qpos[C::kMTiles][2];
  WarpState<C> st;
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = min(q0 + warp * C::kRowsPerWarp + mt * 16 + r * 8 + lane / 4, p.q_len - 1);
      qpos[mt][r] = p.causal ? __ldg(p.q_pos + row) : 0;
      st.m[mt][r] = -INFINITY;
      st.l[mt][r] = 0.f;
#pragma unroll
      for (int dt = 0; dt < C::kDTiles; ++dt) st.o[mt][dt][2 * r] = st.o[mt][dt][2 * r + 1] = 0.f;
    }

  for (int t = 0; t < num_tiles; ++t) {
    cp_async_wait_all();
    __syncthreads();  // tile t is visible to all warps, and all are done with tile t - 1
    if (t + 1 < num_tiles) load_kv(t + 1);  // overwrites tile t - 1's stage; lands during tile t
    cp_async_commit();

    const int k0 = t * C::kBlockN;
    if (k0 >= range.end) continue;  // warp-uniform: every key of this tile is masked here
    const uint32_t k_tile = kv_stages + (t & 1) * C::kStageBytes;
    float s[C::kMTiles][C::kNTiles][4];
    compute_scores<C, T>(s, q_tile, k_tile, warp, lane);
    if (k0 + C::kBlockN > range.full) apply_mask<C>(s, p, range, k0, qpos, lane);
    online_softmax<C>(s, st, p.scale_log2);
    accumulate_pv<C, T>(st.o, s, k_tile + C::kTileBytes, lane);
  }
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
}

// ------------------------------------------------------------------------------------------
// Host side: variants and dispatch
// ------------------------------------------------------------------------------------------

template <class C, typename T>
void launch_mma_typed(const FlashParams& p, int batch, cudaStream_t stream) {
  auto kernel = &flash_mma_kernel<C, T>;
  // Set on every launch: cheap, and correct when the caller switches devices.
  FLASH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        C::kSmemBytes));
  FLASH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        cudaSharedmemCarveoutMaxShared));
  const dim3 grid((p.q_len + C::kBlockM - 1) / C::kBlockM, p.heads, batch);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p);
  FLASH_CHECK_LAUNCH();
}

template <class C>
void launch_mma(const FlashParams& p, ElementType type, int batch, cudaStream_t stream) {
  if (type == ElementType::bf16)
    launch_mma_typed<C, __nv_bfloat16>(p, batch, stream);
  else
    launch_mma_typed<C, __half>(p, batch, stream);
}

struct Variant {
  const char* name;
  int head_dim;
  void (*launch)(const FlashParams&, ElementType, int, cudaStream_t);
};

//                 D    BN  warps  m16 tiles/warp  min blocks/SM
using D128N64W4 = MmaConfig<128, 64, 4, 2, 2>;
using D128N32W4 = MmaConfig<128, 32, 4, 2, 2>;
using D128N64W8 = MmaConfig<128, 64, 8, 1, 2>;
using D64N64W4 = MmaConfig<64, 64, 4, 2, 2>;

constexpr Variant kVariants[] = {
    {"mma.sync D128 Bm128 Bn64 4 warps x 32 rows", 128, &launch_mma<D128N64W4>},
    {"mma.sync D128 Bm128 Bn32 4 warps x 32 rows", 128, &launch_mma<D128N32W4>},
    {"mma.sync D128 Bm128 Bn64 8 warps x 16 rows", 128, &launch_mma<D128N64W8>},
    {"mma.sync D64 Bm128 Bn64 4 warps x 32 rows", 64, &launch_mma<D64N64W4>},
};
constexpr int kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

bool shape_supported(const BlockAttentionArgs& a) {
  return a.batch > 0 && a.heads > 0 && a.kv_heads > 0 && a.q_len > 0 && a.kv_len > 0 &&
         a.heads % a.kv_heads == 0 && a.heads <= 65535 && a.batch <= 65535 &&
         a.softmax_scale > 0.f && std::isfinite(a.softmax_scale) && aligned(a.q, 16) &&
         aligned(a.k, 16) && aligned(a.v, 16) && aligned(a.o_acc, 8) && a.q_pos != nullptr &&
         a.kv_pos != nullptr && a.lse_acc != nullptr;
}

FlashParams make_params(const BlockAttentionArgs& a) {
  return FlashParams{a.q,        a.k,          a.v,
                     a.q_pos,    a.kv_pos,     a.o_acc,
                     a.lse_acc,  a.heads,      a.kv_heads,
                     a.heads / a.kv_heads,     a.q_len,
                     a.kv_len,   a.softmax_scale * kLog2e,
                     a.mask == MaskKind::causal};
}

}  // namespace

int flash_variant_count() { return kNumVariants; }

const char* flash_variant_name(int variant) {
  return variant >= 0 && variant < kNumVariants ? kVariants[variant].name : "none";
}

bool flash_variant_supports(int variant, const BlockAttentionArgs& a) {
  return variant >= 0 && variant < kNumVariants && shape_supported(a) &&
         kVariants[variant].head_dim == a.head_dim;
}

int flash_default_variant(const BlockAttentionArgs& a) {
  if (!shape_supported(a)) return -1;
  if (a.head_dim == 128) return 0;
  if (a.head_dim == 64) return 3;
  return -1;
}

bool flash_supports(const BlockAttentionArgs& a) { return flash_default_variant(a) >= 0; }

void flash_attend_merge_variant(int variant, const BlockAttentionArgs& a, cudaStream_t stream) {
  if (!flash_variant_supports(variant, a))
    throw std::runtime_error(std::string("flash_attend_merge: variant '") +
                             flash_variant_name(variant) + "' does not support these arguments");
  kVariants[variant].launch(make_params(a), a.type, a.batch, stream);
}

void flash_attend_merge(const BlockAttentionArgs& a, cudaStream_t stream) {
  const int variant = flash_default_variant(a);
  if (variant < 0)
    throw std::runtime_error("flash_attend_merge: unsupported arguments (see flash_supports)");
  kVariants[variant].launch(make_params(a), a.type, a.batch, stream);
}

}  // namespace ringbench::cuda
