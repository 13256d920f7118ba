// Flash-attention block kernels for ring attention: attend local queries to one K/V block
// and merge the result into the running (o_acc, lse_acc) in the epilogue.
//
// Variants, in flash_attend_merge's order of preference:
//   * wgmma + TMA (sm_90a, D = 128): a producer warpgroup streams Q/K/V tiles with the tensor
//     memory accelerator into 128-byte-swizzled shared memory (mbarrier pipeline); two
//     consumer warpgroups of 64 query rows run S = Q K^T and O += P V as wgmma, ping-ponging
//     their issue so one warpgroup's softmax overlaps the other's matrix products.
//   * wgmma with cp.async loads (sm_90a, D = 128): same math, all threads copy, block
//     barrier per tile. Kept as a simpler second implementation for cross-checking.
//   * mma.sync m16n8k16 (sm_80+, D = 64 or 128): FA2-style, each warp owns 32 query rows;
//     K/V tiles double-buffered with cp.async, fragments read with ldmatrix.
//
// All variants share: one block per (128 query rows, head, batch); online softmax in fp32
// with exp2; mask classification from the increasing q_pos/kv_pos (fully masked tiles are
// never loaded, fully allowed tiles skip the per-element test); P re-packed from the S
// accumulators in registers; the normalize-and-merge epilogue reads o_acc/lse_acc once and
// writes them once.
//
// Cost model (B=1, H=32, S=16K, D=128): 4*H*S*S*D = 4.4 TFLOP against ~0.3 GB of compulsory
// traffic (Q, K, V once, o_acc read+write), so the kernels are bound by tensor-core issue,
// the exp2 unit and shared-memory bandwidth, not by DRAM.
#include "flash/BlockAttention.cuh"
#include "flash/PtxPrimitives.cuh"

#include <cuda.h>  // CUtensorMap and its enums (types only; no driver library link)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#define FLASH_CUDA_CHECK(expr)                                                                 \
  do {                                                                                         \
    const cudaError_t flash_err_ = (expr);                                                     \
    if (flash_err_ != cudaSuccess)                                                             \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + \
                               cudaGetErrorString(flash_err_));                                \
  } while (0)
#define FLASH_CHECK_LAUNCH() FLASH_CUDA_CHECK(cudaGetLastError())

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

// ------------------------------------------------------------------------------------------
// mma.sync configuration
// ------------------------------------------------------------------------------------------
//
// Giving each warp 32 query rows (kMTiles = 2) halves the shared-memory bytes per MMA compared
// with 16 rows per warp: each K/V fragment loaded with ldmatrix feeds four MMAs instead of two.

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

// Keys [full_begin, full_end) are allowed for every row of a group (a warp or a warpgroup),
// keys outside [begin, end) for none of them, the others need the per-element test. Positions
// increase and the mask is a band, so each is an interval of the block's keys.
struct KeyRange {
  int begin, full_begin, full_end, end;
};

// Whether the tile of keys [k0, k0 + n) holds keys that need the per-element test.
__device__ __forceinline__ bool needs_mask(KeyRange range, int k0, int n) {
  return k0 < range.full_begin || k0 + n > range.full_end;
}

__device__ __forceinline__ int32_t clamp_position(long long p) {
  return int32_t(max(-1LL, min(p, 2147483647LL)));
}

// Key range of query rows [first, first + count) of the block.
__device__ KeyRange group_key_range(const FlashParams& p, int q0, int q_rows, int first,
                                    int count) {
  if (first >= q_rows) return {0, 0, 0, 0};  // group past the end of q_len: no work
  if (!p.banded) return {0, 0, p.kv_len, p.kv_len};
  const int last = min(first + count, q_rows) - 1;
  const long long q_first = __ldg(p.q_pos + q0 + first), q_last = __ldg(p.q_pos + q0 + last);
  auto count_leq = [&](long long value, int lo) {
    return warp_count_leq(p.kv_pos, lo, p.kv_len, clamp_position(value));
  };
  const int begin = count_leq(q_first - p.band_left - 1, 0);  // keys before every band
  const int end = count_leq(q_last + p.band_right, begin);    // keys up to the last band's end
  const int full_begin = count_leq(q_last - p.band_left - 1, begin);
  const int full_end = max(full_begin, min(end, count_leq(q_first + p.band_right, begin)));
  return {begin, full_begin, full_end, end};
}

// The tiles of kBlockN keys a block must load: from the first group's first key to the last
// group's last one (groups with no key left out). Tile t of the loop is key tile first + t.
struct TileSpan {
  int first, count;
};

template <int kBlockN, int kGroups>
__device__ __forceinline__ TileSpan block_tile_span(const int (&begin)[kGroups],
                                                    const int (&end)[kGroups]) {
  int lo = 0x7fffffff, hi = 0;
#pragma unroll
  for (int g = 0; g < kGroups; ++g)
    if (end[g] > begin[g]) lo = min(lo, begin[g]), hi = max(hi, end[g]);
  if (hi == 0) return {0, 0};
  const int first = lo / kBlockN;
  return {first, (hi + kBlockN - 1) / kBlockN - first};
}

// The key tiles a block visits, loop step t -> first key k0: the consecutive tiles of the
// band's span, or the block's tile list (each 128-key list tile split into kSplit loop steps).
template <int kBlockN>
struct TileWalk {
  static constexpr int kSplit = TileList::kKeys / kBlockN;
  static_assert(kSplit * kBlockN == TileList::kKeys, "key tiles must split the list's tiles");
  const int32_t* list = nullptr;  // nullptr: consecutive tiles from `first`
  int first = 0, count = 0;       // count: loop steps

  __device__ __forceinline__ int k0(int t) const {
    if (list == nullptr) return (first + t) * kBlockN;
    return (__ldg(list + t / kSplit) >> 1) * TileList::kKeys + (t % kSplit) * kBlockN;
  }
  // Whether the tile's pairs need the per-pair test.
  __device__ __forceinline__ bool partial(int t, KeyRange range) const {
    if (list == nullptr) return needs_mask(range, k0(t), kBlockN);
    return (__ldg(list + t / kSplit) & 1) != 0;
  }
};

// The first query row of this block. Heavy blocks start first: with a tile list the ones with
// the most tiles, otherwise the late ones (under causal they see the most keys).
template <int kBlockM>
__device__ __forceinline__ int block_first_row(const FlashParams& p) {
  static_assert(kBlockM == TileList::kQueryRows, "tile lists are made for 128-row blocks");
  if (p.listed()) return __ldg(p.tile_order + blockIdx.x) * kBlockM;
  return (gridDim.x - 1 - blockIdx.x) * kBlockM;
}

// The walk of the block starting at query row q0: its tile list, or the groups' span.
template <int kBlockN, int kGroups>
__device__ __forceinline__ TileWalk<kBlockN> block_walk(const FlashParams& p, int q0,
                                                        const int (&begin)[kGroups],
                                                        const int (&end)[kGroups]) {
  if (p.listed()) {
    const int b = q0 / TileList::kQueryRows;
    const int first = __ldg(p.tile_offsets + b), last = __ldg(p.tile_offsets + b + 1);
    return {p.tile_entries + first, 0, (last - first) * TileWalk<kBlockN>::kSplit};
  }
  const TileSpan span = block_tile_span<kBlockN>(begin, end);
  return {nullptr, span.first, span.count};
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
      const bool in_range = col >= range.begin && col < range.end;
      const bool check_pos = p.banded && (col < range.full_begin || col >= range.full_end);
      const int32_t kpos = (in_range && check_pos) ? __ldg(p.kv_pos + col) : 0;
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          // positions are below 2^31, so their difference fits an int
          const bool allowed = in_range && (!check_pos || (kpos - qpos[mt][r] <= p.band_right &&
                                                           qpos[mt][r] - kpos <= p.band_left));
          if (!allowed) s[mt][nt][2 * r + c] = -INFINITY;
        }
    }
  }
}

// The same under mask terms: every pair of the tile judged by the terms, columns past kv_len
// disallowed.
template <class C>
__device__ __forceinline__ void apply_terms_mask(float (&s)[C::kMTiles][C::kNTiles][4],
                                                 const FlashParams& p, int k0,
                                                 const int32_t (&qpos)[C::kMTiles][2], int lane) {
#pragma unroll
  for (int nt = 0; nt < C::kNTiles; ++nt) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int col = k0 + nt * 8 + 2 * (lane & 3) + c;
      const bool in_block = col < p.kv_len;
      const int32_t kpos = in_block ? __ldg(p.kv_pos + col) : 0;
#pragma unroll
      for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r)
          if (!(in_block && terms_allow(p.terms, qpos[mt][r], kpos)))
            s[mt][nt][2 * r + c] = -INFINITY;
    }
  }
}

// A partial tile's mask, whichever form the block's mask takes.
template <class C>
__device__ __forceinline__ void mask_tile(float (&s)[C::kMTiles][C::kNTiles][4],
                                          const FlashParams& p, KeyRange range, int k0,
                                          const int32_t (&qpos)[C::kMTiles][2], int lane) {
  if (p.listed())
    apply_terms_mask<C>(s, p, k0, qpos, lane);
  else
    apply_mask<C>(s, p, range, k0, qpos, lane);
}

// Online softmax step: new running max and sum, S -> P = exp2(S * c - m), and the factor
// alpha = exp2(m_old - m_new) by which the output accumulators must be rescaled.
template <class C>
__device__ __forceinline__ void softmax_scores(float (&s)[C::kMTiles][C::kNTiles][4],
                                               WarpState<C>& st, float scale_log2,
                                               float (&alpha)[C::kMTiles][2]) {
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
      alpha[mt][r] = fast_exp2(st.m[mt][r] - m_base);
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
      st.l[mt][r] = st.l[mt][r] * alpha[mt][r] + sum;
    }
  }
}

template <class C>
__device__ __forceinline__ void rescale_output(float (&o)[C::kMTiles][C::kDTiles][4],
                                               const float (&alpha)[C::kMTiles][2]) {
#pragma unroll
  for (int mt = 0; mt < C::kMTiles; ++mt)
#pragma unroll
    for (int dt = 0; dt < C::kDTiles; ++dt)
#pragma unroll
      for (int c = 0; c < 4; ++c) o[mt][dt][c] *= alpha[mt][c / 2];
}

// The S accumulators of two adjacent n8 tiles (k16 step ks) in the A-operand layout of a
// 16-bit MMA (mma.sync m16n8k16 and wgmma with A in registers share it).
template <class C, typename T>
__device__ __forceinline__ void pack_p(uint32_t (&a)[4], const float (&p)[C::kNTiles][4], int ks) {
  a[0] = ElemOps<T>::pack(p[2 * ks][0], p[2 * ks][1]);
  a[1] = ElemOps<T>::pack(p[2 * ks][2], p[2 * ks][3]);
  a[2] = ElemOps<T>::pack(p[2 * ks + 1][0], p[2 * ks + 1][1]);
  a[3] = ElemOps<T>::pack(p[2 * ks + 1][2], p[2 * ks + 1][3]);
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
    for (int mt = 0; mt < C::kMTiles; ++mt) pack_p<C, T>(a[mt], p[mt], ks);
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
__device__ __forceinline__ void write_merged(WarpState<C>& st, const FlashParams& p, size_t q_row0,
                                             int q_rows, int warp, int lane) {
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
// The mma.sync kernel
// ------------------------------------------------------------------------------------------

template <class C, typename T>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocksPerSm)
    flash_mma_kernel(const FlashParams p) {
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ int warp_begin[C::kNumWarps], warp_end[C::kNumWarps];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int q0 = block_first_row<C::kBlockM>(p);
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / p.group) * p.kv_len;
  const auto* q = static_cast<const uint16_t*>(p.q) + q_row0 * C::kHeadDim;
  const auto* k = static_cast<const uint16_t*>(p.k) + kv_row0 * C::kHeadDim;
  const auto* v = static_cast<const uint16_t*>(p.v) + kv_row0 * C::kHeadDim;

  const uint32_t q_tile = smem_addr(smem);
  const uint32_t kv_stages = q_tile + C::kQBytes;
  TileWalk<C::kBlockN> walk;
  auto load_kv = [&](int tile) {
    const int k0 = walk.k0(tile);
    const uint32_t stage = kv_stages + (tile & 1) * C::kStageBytes;
    const int rows = min(C::kBlockN, p.kv_len - k0);
    load_rows_async<C, C::kBlockN>(stage, k + size_t(k0) * C::kHeadDim, rows);
    load_rows_async<C, C::kBlockN>(stage + C::kTileBytes, v + size_t(k0) * C::kHeadDim, rows);
  };

  // The Q copy overlaps the mask classification.
  load_rows_async<C, C::kBlockM>(q_tile, q, q_rows);
  cp_async_commit();

  const KeyRange range = group_key_range(p, q0, q_rows, warp * C::kRowsPerWarp, C::kRowsPerWarp);
  if (lane == 0) warp_begin[warp] = range.begin, warp_end[warp] = range.end;
  __syncthreads();
  walk = block_walk<C::kBlockN>(p, q0, warp_begin, warp_end);
  const int num_tiles = walk.count;  // masked tiles: never loaded
  if (num_tiles == 0) {              // no query of this block sees any key: o_acc stays untouched
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
      qpos[mt][r] = p.uses_positions() ? __ldg(p.q_pos + row) : 0;
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

    const int k0 = walk.k0(t);
    // warp-uniform: every key of this tile is masked here (or past the block's end)
    if (k0 >= range.end || k0 + C::kBlockN <= range.begin) continue;
    const uint32_t k_tile = kv_stages + (t & 1) * C::kStageBytes;
    float s[C::kMTiles][C::kNTiles][4];
    compute_scores<C, T>(s, q_tile, k_tile, warp, lane);
    if (walk.partial(t, range)) mask_tile<C>(s, p, range, k0, qpos, lane);
    float alpha[C::kMTiles][2];
    softmax_scores<C>(s, st, p.scale_log2, alpha);
    rescale_output<C>(st.o, alpha);
    accumulate_pv<C, T>(st.o, s, k_tile + C::kTileBytes, lane);
  }
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
}

// Without sm_90a the wgmma kernel bodies compile to a trap, leaving helpers unreferenced.
#pragma nv_diag_suppress 177

// ------------------------------------------------------------------------------------------
// wgmma variant (sm_90a): 2 warpgroups x 64 query rows, 128-key tiles, D = 128
// ------------------------------------------------------------------------------------------
//
// S = Q K^T is a wgmma with both operands in shared memory; O += P V takes P from registers
// (the S accumulators re-packed to 16 bit) and V from shared memory read N-major. Each
// warpgroup overlaps its softmax of tile t with the P V product of tile t - 1:
//   issue S(t) = Q K(t)^T; issue O += P(t-1) V(t-1); wait for S(t); softmax(t);
//   wait for the P V product; rescale O; pack P(t).
// K runs one tile ahead of V in shared memory (K(t+1) and V(t) are copied during tile t), so
// two stages of each suffice: 32 KB Q + 2 x 32 KB K + 2 x 32 KB V.
//
// Shared-memory tiles use the 128-byte swizzle of the wgmma descriptors: a tile of R rows
// is stored as two column blocks (d 0-63, d 64-127), each R rows of 128 bytes with the
// 16-byte chunk index XOR-ed with row % 8, the same XOR as the mma.sync tiles use.

#define RB_WGMMA_ACC64                                                               \
  "{"                                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, " \
  "%18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, " \
  "%34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, " \
  "%50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63 "            \
  "}"
#define RB_WGMMA_ACC64_OPERANDS(d)                                                                \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),       \
      "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),   \
      "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]),   \
      "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),   \
      "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]),   \
      "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]),   \
      "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), \
      "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]),             \
      "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]),             \
      "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]),             \
      "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]),             \
      "+f"(d[15][2]), "+f"(d[15][3])

struct WgmmaConfig {
  static constexpr int kHeadDim = 128;
  static constexpr int kBlockN = 128;
  static constexpr int kThreads = 256;
  static constexpr int kRowsPerWarp = 16;
  static constexpr int kBlockM = 128;
  static constexpr int kGroupRows = 64;  // rows per warpgroup
  // Per-warp views used by the shared mask/softmax/epilogue helpers.
  static constexpr int kMTiles = 1;
  static constexpr int kNTiles = kBlockN / 8;
  static constexpr int kDTiles = kHeadDim / 8;
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;
  static constexpr int kTileBytes = kBlockN * kHeadDim * 2;
  static constexpr int kQColBlock = kBlockM * 128;  // bytes of one 64-column block
  static constexpr int kKVColBlock = kBlockN * 128;
  static constexpr int kSmemBytes = kQBytes + 4 * kTileBytes + 1024;  // + alignment slack
};

template <typename T>
struct Wgmma;

// Instruction strings for one element type: S = A B (+ S) with A, B in shared memory, and
// O += A B with A in registers and B read N-major (transposed) from shared memory.
#define RB_DEFINE_WGMMA(TYPE, PTX_TYPE)                                                           \
  template <>                                                                                     \
  struct Wgmma<TYPE> {                                                                            \
    static __device__ __forceinline__ void ss(float (&d)[16][4], uint64_t a, uint64_t b,          \
                                              int accumulate) {                                   \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n128k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC64 \
          ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                                       \
          : RB_WGMMA_ACC64_OPERANDS(d)                                                            \
          : "l"(a), "l"(b), "r"(accumulate));                                                     \
    }                                                                                             \
    static __device__ __forceinline__ void rs(float (&d)[16][4], const uint32_t (&a)[4],          \
                                              uint64_t b) {                                       \
      asm volatile(                                                                               \
          "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                            \
          "wgmma.mma_async.sync.aligned.m64n128k16.f32." PTX_TYPE "." PTX_TYPE " " RB_WGMMA_ACC64 \
          ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                                         \
          : RB_WGMMA_ACC64_OPERANDS(d)                                                            \
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                          \
    }                                                                                             \
  };
RB_DEFINE_WGMMA(__nv_bfloat16, "bf16")
RB_DEFINE_WGMMA(__half, "f16")
#undef RB_DEFINE_WGMMA

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// cp.async writes shared memory through the generic proxy; wgmma reads it through the async
// proxy. Each writer fences before the barrier that publishes the tile.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// The compiler does not know that wgmma runs asynchronously: these empty asm statements pin
// registers that an in-flight wgmma reads or writes, so no access moves across the wait and
// no register is reused before it.
template <int kRows>
__device__ __forceinline__ void fence_registers(float (&r)[kRows][4]) {
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) asm volatile("" : "+f"(r[i][c])::"memory");
}
template <int kRows>
__device__ __forceinline__ void fence_registers(uint32_t (&r)[kRows][4]) {
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) asm volatile("" : "+r"(r[i][c])::"memory");
}

// Shared-memory matrix descriptor, 128-byte swizzle. Addresses and offsets in bytes.
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t leading_bytes,
                                              uint32_t stride_bytes) {
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t((leading_bytes >> 4) & 0x3FFF) << 16) |
         (uint64_t((stride_bytes >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

// Copy rows [0, kRows) of a [*, 128] matrix into a column-block tile (see above); rows
// >= valid_rows are zero-filled.
template <int kRows>
__device__ __forceinline__ void load_rows_cb_async(uint32_t dst, const uint16_t* src,
                                                   int valid_rows) {
  using C = WgmmaConfig;
  constexpr int kChunks = C::kHeadDim / 8;
  constexpr int kTotal = kRows * kChunks;
  static_assert(kTotal % C::kThreads == 0, "tile copy must divide evenly over the block");
#pragma unroll
  for (int it = 0; it < kTotal / C::kThreads; ++it) {
    const int i = static_cast<int>(threadIdx.x) + it * C::kThreads;
    const int row = i / kChunks, chunk = i % kChunks;
    const bool valid = row < valid_rows;
    const uint16_t* g = valid ? src + row * C::kHeadDim + chunk * 8 : src;
    cp_async_16(dst + (chunk / 8) * (kRows * 128) + row * 128 + (((chunk % 8) ^ (row & 7)) << 4), g,
                valid);
  }
}

// S = Q K^T for the warpgroup's 64 rows: 8 k16 steps over D = 128. K-major operands: one
// 8-row group of a swizzle atom is 1024 bytes; a k16 step moves 32 bytes along a row.
template <typename T>
__device__ __forceinline__ void issue_scores(float (&s)[16][4], uint32_t q_rows_addr,
                                             uint32_t k_tile) {
  using C = WgmmaConfig;
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < C::kHeadDim / 16; ++kk) {
    const uint32_t col = (kk / 4), byte = (kk % 4) * 32;
    const uint64_t a = smem_desc(q_rows_addr + col * C::kQColBlock + byte, 16, 1024);
    const uint64_t b = smem_desc(k_tile + col * C::kKVColBlock + byte, 16, 1024);
    Wgmma<T>::ss(s, a, b, kk > 0);
  }
  wgmma_commit();
}

// O += P V over the 128 keys of a tile: 8 k16 steps of 16 keys (2048 bytes of V each). V is
// N-major: the leading offset steps to the next 64-column block, the stride offset to the
// next 8 keys.
template <typename T>
__device__ __forceinline__ void issue_pv(float (&o)[16][4], const uint32_t (&p)[8][4],
                                         uint32_t v_tile) {
  using C = WgmmaConfig;
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < C::kBlockN / 16; ++ks)
    Wgmma<T>::rs(o, p[ks], smem_desc(v_tile + ks * 2048, C::kKVColBlock, 1024));
  wgmma_commit();
}

template <typename T>
__global__ void __launch_bounds__(WgmmaConfig::kThreads, 1)
    flash_wgmma_kernel(const FlashParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using C = WgmmaConfig;
  extern __shared__ uint8_t smem_raw[];
  __shared__ int group_begin[2], group_end[2];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = threadIdx.x / 128;
  const int q0 = block_first_row<C::kBlockM>(p);
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;
  const size_t kv_row0 = (size_t(batch) * p.kv_heads + head / p.group) * p.kv_len;
  const auto* q = static_cast<const uint16_t*>(p.q) + q_row0 * C::kHeadDim;
  const auto* k = static_cast<const uint16_t*>(p.k) + kv_row0 * C::kHeadDim;
  const auto* v = static_cast<const uint16_t*>(p.v) + kv_row0 * C::kHeadDim;

  // Swizzle atoms must sit on 1024-byte boundaries.
  const uint32_t q_tile = (smem_addr(smem_raw) + 1023) & ~1023u;
  const uint32_t k_stages = q_tile + C::kQBytes;
  const uint32_t v_stages = k_stages + 2 * C::kTileBytes;
  TileWalk<C::kBlockN> walk;
  auto load_k = [&](int tile) {
    const int k0 = walk.k0(tile);
    load_rows_cb_async<C::kBlockN>(k_stages + (tile & 1) * C::kTileBytes,
                                   k + size_t(k0) * C::kHeadDim, min(C::kBlockN, p.kv_len - k0));
  };
  auto load_v = [&](int tile) {
    const int k0 = walk.k0(tile);
    load_rows_cb_async<C::kBlockN>(v_stages + (tile & 1) * C::kTileBytes,
                                   v + size_t(k0) * C::kHeadDim, min(C::kBlockN, p.kv_len - k0));
  };

  load_rows_cb_async<C::kBlockM>(q_tile, q, q_rows);
  cp_async_commit();
  // Mask classification per warpgroup (uniform over its warps, as wgmma requires).
  const KeyRange range = group_key_range(p, q0, q_rows, group * C::kGroupRows, C::kGroupRows);
  if (threadIdx.x % 128 == 0) group_begin[group] = range.begin, group_end[group] = range.end;
  __syncthreads();
  walk = block_walk<C::kBlockN>(p, q0, group_begin, group_end);
  const int num_tiles = walk.count;
  if (num_tiles == 0) {
    cp_async_wait_all();
    return;
  }
  load_k(0);
  cp_async_commit();

  int32_t qpos[1][2];
  WarpState<C> st;
  float s[1][16][4];
  uint32_t p_frag[8][4];  // P of the previous tile, A fragments of 8 k16 steps
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = min(q0 + warp * C::kRowsPerWarp + r * 8 + lane / 4, p.q_len - 1);
    qpos[0][r] = p.uses_positions() ? __ldg(p.q_pos + row) : 0;
    st.m[0][r] = -INFINITY;
    st.l[0][r] = 0.f;
  }
#pragma unroll
  for (int i = 0; i < 16; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) st.o[0][i][c] = s[0][i][c] = 0.f;
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) p_frag[i][c] = 0u;

  const uint32_t q_group = q_tile + group * C::kGroupRows * 128;
  auto k_stage = [&](int tile) { return k_stages + (tile & 1) * C::kTileBytes; };
  auto v_stage = [&](int tile) { return v_stages + (tile & 1) * C::kTileBytes; };
  // Publish K(t) and V(t-1), then start copying K(t+1) and V(t) into the stages of K(t-1)
  // and V(t-2), which every warpgroup has finished with once it passes the barrier.
  auto begin_tile = [&](int t) {
    cp_async_wait_all();
    fence_proxy_async();
    __syncthreads();
    if (t + 1 < num_tiles) load_k(t + 1);
    if (t < num_tiles) load_v(t);
    cp_async_commit();
  };
  auto softmax_tile = [&](int t, float(&alpha)[1][2]) {
    fence_registers(s[0]);
    if (walk.partial(t, range)) mask_tile<C>(s, p, range, walk.k0(t), qpos, lane);
    softmax_scores<C>(s, st, p.scale_log2, alpha);
  };
  auto pack_all = [&] {
#pragma unroll
    for (int ks = 0; ks < 8; ++ks) pack_p<C, T>(p_frag[ks], s[0], ks);
  };

  // Every warpgroup runs every tile of the block, so that all wgmma sit in uniform control
  // flow (ptxas serializes wgmma in divergent code). Tiles past a warpgroup's own key range
  // are fully masked and leave its state unchanged. Tile 0 has no P V product to overlap.
  float alpha[1][2];
  begin_tile(0);
  issue_scores<T>(s[0], q_group, k_stage(0));
  wgmma_wait<0>();
  softmax_tile(0, alpha);  // O is still 0: no rescale
  pack_all();
  for (int t = 1; t < num_tiles; ++t) {
    begin_tile(t);
    issue_scores<T>(s[0], q_group, k_stage(t));
    issue_pv<T>(st.o[0], p_frag, v_stage(t - 1));
    wgmma_wait<1>();  // S(t) is done; the P V product may still run during the softmax
    softmax_tile(t, alpha);
    wgmma_wait<0>();
    fence_registers(st.o[0]);
    fence_registers(p_frag);
    rescale_output<C>(st.o, alpha);
    pack_all();
  }
  begin_tile(num_tiles);  // publishes V(num_tiles - 1); copies nothing
  issue_pv<T>(st.o[0], p_frag, v_stage(num_tiles - 1));
  wgmma_wait<0>();
  fence_registers(st.o[0]);
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
#else
  __trap();  // built without sm_90a: the host never selects this kernel then
#endif
}

// ------------------------------------------------------------------------------------------
// Warp-specialized wgmma variant (sm_90a): a producer warpgroup streams Q/K/V with TMA
// ------------------------------------------------------------------------------------------
//
// Same math and shared-memory layout as flash_wgmma_kernel, but the tiles arrive by the
// tensor-memory accelerator (cp.async.bulk.tensor with the 128-byte swizzle) issued by one
// thread of a third warpgroup, and completion is tracked by mbarriers (full: data landed; empty:
// both warpgroups are done with a stage). The two consumer warpgroups never meet at a block
// barrier inside the loop, so one can run its softmax while the other keeps the tensor cores
// busy, and no consumer thread spends registers or issue slots on copies. TMA also zero-fills
// rows past q_len / kv_len.

struct TmaMaps {
  CUtensorMap q, k, v;  // 3D: (d, row, batch * heads), boxes of 64 d x 128 rows
};

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, int c0, int c1,
                                            int c2, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, "
      "%3, %4}], [%5];\n" ::"r"(dst),
      "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
      : "memory");
}

// Warpgroups 0-1 consume, warpgroup 2 produces (one thread of it issues all copies). A
// producer warp alone would cost the same registers: ptxas budgets whole warpgroups. So the
// producer gives its registers to the consumers with setmaxnreg: 128 x 40 + 256 x 232 <= 64K.
// Named barriers 1 and 2 order the two consumer warpgroups' wgmma issue (ping-pong): while
// one warpgroup runs its softmax, the tensor cores work through the other's products.
__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

constexpr int kTmaConsumerWarps = 8;
constexpr int kTmaThreads = 384;
constexpr int kProducerRegs = 40, kConsumerRegs = 232;

template <typename T, bool kPingPong>
__global__ void __launch_bounds__(kTmaThreads, 1)
    flash_wgmma_tma_kernel(const FlashParams p, const __grid_constant__ TmaMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using C = WgmmaConfig;
  extern __shared__ uint8_t smem_raw[];
  __shared__ int group_begin[2], group_end[2];
  // Barriers: 0 Q full; 1-2 K full; 3-4 K empty; 5-6 V full; 7-8 V empty (per stage).
  __shared__ __align__(8) uint64_t barriers[9];
  constexpr int kQFull = 0, kKFull = 1, kKEmpty = 3, kVFull = 5, kVEmpty = 7;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, group = threadIdx.x / 128;
  const int q0 = block_first_row<C::kBlockM>(p);
  const int q_rows = min(C::kBlockM, p.q_len - q0);
  const int head = blockIdx.y, batch = blockIdx.z;
  const size_t q_row0 = (size_t(batch) * p.heads + head) * p.q_len + q0;

  const uint32_t q_tile = (smem_addr(smem_raw) + 1023) & ~1023u;  // swizzle atoms: 1024 B
  const uint32_t k_stages = q_tile + C::kQBytes;
  const uint32_t v_stages = k_stages + 2 * C::kTileBytes;
  const uint32_t bar0 = smem_addr(barriers);
  auto bar = [&](int i) { return bar0 + 8u * i; };
  auto k_stage = [&](int tile) { return k_stages + (tile & 1) * C::kTileBytes; };
  auto v_stage = [&](int tile) { return v_stages + (tile & 1) * C::kTileBytes; };

  if (threadIdx.x == 0) {
    mbar_init(bar(kQFull), 1);
    for (int s = 0; s < 2; ++s) {
      mbar_init(bar(kKFull + s), 1);
      mbar_init(bar(kVFull + s), 1);
      mbar_init(bar(kKEmpty + s), kTmaConsumerWarps);  // one arrival per consumer warp
      mbar_init(bar(kVEmpty + s), kTmaConsumerWarps);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  KeyRange range{0, 0, 0, 0};
  if (group < 2) {
    range = group_key_range(p, q0, q_rows, group * C::kGroupRows, C::kGroupRows);
    if (threadIdx.x % 128 == 0) group_begin[group] = range.begin, group_end[group] = range.end;
  }
  __syncthreads();  // the only block-wide barrier: barriers initialized, key ranges known
  const TileWalk<C::kBlockN> walk = block_walk<C::kBlockN>(p, q0, group_begin, group_end);
  const int num_tiles = walk.count;
  if (num_tiles == 0) return;  // no query of this block sees any key: o_acc stays untouched

  if (group == 2) {  // producer warpgroup
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs));
    if (threadIdx.x != 256) return;
    const int q_head = batch * p.heads + head;
    const int kv_head = batch * p.kv_heads + head / p.group;
    mbar_expect_tx(bar(kQFull), C::kQBytes);
    tma_load_3d(q_tile, &maps.q, 0, q0, q_head, bar(kQFull));
    tma_load_3d(q_tile + C::kQColBlock, &maps.q, 64, q0, q_head, bar(kQFull));
    for (int t = 0; t < num_tiles; ++t) {
      const int stage = t & 1, row = walk.k0(t);
      const uint32_t reuse_parity = ((t >> 1) + 1) & 1;  // release of tile t - 2
      if (t >= 2) mbar_wait(bar(kKEmpty + stage), reuse_parity);
      mbar_expect_tx(bar(kKFull + stage), C::kTileBytes);
      tma_load_3d(k_stage(t), &maps.k, 0, row, kv_head, bar(kKFull + stage));
      tma_load_3d(k_stage(t) + C::kKVColBlock, &maps.k, 64, row, kv_head, bar(kKFull + stage));
      if (t >= 2) mbar_wait(bar(kVEmpty + stage), reuse_parity);
      mbar_expect_tx(bar(kVFull + stage), C::kTileBytes);
      tma_load_3d(v_stage(t), &maps.v, 0, row, kv_head, bar(kVFull + stage));
      tma_load_3d(v_stage(t) + C::kKVColBlock, &maps.v, 64, row, kv_head, bar(kVFull + stage));
    }
    return;
  }
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs));

  // Consumers: warpgroup `group` owns rows [64 group, 64 group + 64) of the block.
  int32_t qpos[1][2];
  WarpState<C> st;
  float s[1][16][4];
  uint32_t p_frag[8][4];  // P of the previous tile, A fragments of 8 k16 steps
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = min(q0 + warp * C::kRowsPerWarp + r * 8 + lane / 4, p.q_len - 1);
    qpos[0][r] = p.uses_positions() ? __ldg(p.q_pos + row) : 0;
    st.m[0][r] = -INFINITY;
    st.l[0][r] = 0.f;
  }
#pragma unroll
  for (int i = 0; i < 16; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) st.o[0][i][c] = s[0][i][c] = 0.f;

  const uint32_t q_group = q_tile + group * C::kGroupRows * 128;
  auto wait_full = [&](int first, int tile) {
    mbar_wait(bar(first + (tile & 1)), (tile >> 1) & 1);
  };
  auto release = [&](int first, int tile) {
    if (lane == 0) mbar_arrive(bar(first + (tile & 1)));  // this warp's wgmma reads are done
  };
  auto softmax_tile = [&](int t, float(&alpha)[1][2]) {
    fence_registers(s[0]);
    if (walk.partial(t, range)) mask_tile<C>(s, p, range, walk.k0(t), qpos, lane);
    softmax_scores<C>(s, st, p.scale_log2, alpha);
  };
  auto pack_all = [&] {
#pragma unroll
    for (int ks = 0; ks < 8; ++ks) pack_p<C, T>(p_frag[ks], s[0], ks);
  };

  // Ping-pong: a warpgroup issues its products only after the other one has issued its own
  // (barrier 1 + g is "group g may issue"). Group 1 lets group 0 start. Each group issues
  // num_tiles + 1 times; group 1 skips its last hand-over so every arrive meets a sync.
  auto my_turn = [&] {
    if constexpr (kPingPong) named_barrier_sync(1 + group, 256);
  };
  auto hand_over = [&](bool last) {
    if constexpr (kPingPong)
      if (!(last && group == 1)) named_barrier_arrive(2 - group, 256);
  };
  if constexpr (kPingPong)
    if (group == 1) named_barrier_arrive(1, 256);

  // As in flash_wgmma_kernel, both warpgroups run every tile of the block (uniform control
  // flow around wgmma); tiles past a warpgroup's key range are fully masked.
  float alpha[1][2];
  mbar_wait(bar(kQFull), 0);
  wait_full(kKFull, 0);
  my_turn();
  issue_scores<T>(s[0], q_group, k_stage(0));
  hand_over(false);
  wgmma_wait<0>();
  release(kKEmpty, 0);
  softmax_tile(0, alpha);  // O is still 0: no rescale
  pack_all();
  for (int t = 1; t < num_tiles; ++t) {
    wait_full(kKFull, t);
    wait_full(kVFull, t - 1);
    my_turn();
    issue_scores<T>(s[0], q_group, k_stage(t));
    issue_pv<T>(st.o[0], p_frag, v_stage(t - 1));
    hand_over(false);
    wgmma_wait<1>();  // S(t) is done; the P V product may still run during the softmax
    release(kKEmpty, t);
    softmax_tile(t, alpha);
    wgmma_wait<0>();
    fence_registers(st.o[0]);
    fence_registers(p_frag);
    release(kVEmpty, t - 1);
    rescale_output<C>(st.o, alpha);
    pack_all();
  }
  wait_full(kVFull, num_tiles - 1);
  my_turn();
  issue_pv<T>(st.o[0], p_frag, v_stage(num_tiles - 1));
  hand_over(true);
  wgmma_wait<0>();
  fence_registers(st.o[0]);
  write_merged<C>(st, p, q_row0, q_rows, warp, lane);
#else
  __trap();  // built without sm_90a: the host never selects this kernel then
#endif
}

#pragma nv_diag_default 177

// ------------------------------------------------------------------------------------------
// Host side: variants and dispatch
// ------------------------------------------------------------------------------------------

template <class C, typename T>
void launch_mma_typed(const FlashParams& p, int batch, cudaStream_t stream) {
  auto kernel = &flash_mma_kernel<C, T>;
  // Set on every launch: cheap, and correct when the caller switches devices.
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
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

template <typename T>
void launch_wgmma_typed(const FlashParams& p, int batch, cudaStream_t stream) {
  using C = WgmmaConfig;
  auto kernel = &flash_wgmma_kernel<T>;
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  const dim3 grid((p.q_len + C::kBlockM - 1) / C::kBlockM, p.heads, batch);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p);
  FLASH_CHECK_LAUNCH();
}

void launch_wgmma(const FlashParams& p, ElementType type, int batch, cudaStream_t stream) {
  if (type == ElementType::bf16)
    launch_wgmma_typed<__nv_bfloat16>(p, batch, stream);
  else
    launch_wgmma_typed<__half>(p, batch, stream);
}

// cuTensorMapEncodeTiled through the runtime's driver entry point (no libcuda link needed).
using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                   const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                   const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                   CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiledFn encode_tiled() {
  static const EncodeTiledFn fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult query{};
    FLASH_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000,
                                                      cudaEnableDefault, &query));
    if (query != cudaDriverEntryPointSuccess || ptr == nullptr)
      throw std::runtime_error("flash_attend_merge: cuTensorMapEncodeTiled not available");
    return reinterpret_cast<EncodeTiledFn>(ptr);
  }();
  return fn;
}

// [heads_total, rows, 128] 16-bit tensor, read in boxes of 64 d x box_rows rows with the
// 128-byte swizzle that the wgmma descriptors expect; rows past the end read as zeros.
CUtensorMap make_tensor_map(const void* base, ElementType type, int rows, int heads_total,
                            int box_rows) {
  CUtensorMap map;
  const cuuint64_t dims[3] = {128, cuuint64_t(rows), cuuint64_t(heads_total)};
  const cuuint64_t strides[2] = {128 * 2, cuuint64_t(rows) * 128 * 2};  // bytes, dims 1 and 2
  const cuuint32_t box[3] = {64, cuuint32_t(box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult r =
      encode_tiled()(&map,
                     type == ElementType::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                               : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                     3, const_cast<void*>(base), dims, strides, box, element_strides,
                     CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw std::runtime_error("flash_attend_merge: cuTensorMapEncodeTiled failed with error " +
                             std::to_string(int(r)));
  return map;
}

template <typename T, bool kPingPong>
void launch_wgmma_tma_typed(const FlashParams& p, const TmaMaps& maps, int batch,
                            cudaStream_t stream) {
  using C = WgmmaConfig;
  auto kernel = &flash_wgmma_tma_kernel<T, kPingPong>;
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  const dim3 grid((p.q_len + C::kBlockM - 1) / C::kBlockM, p.heads, batch);
  kernel<<<grid, kTmaThreads, C::kSmemBytes, stream>>>(p, maps);
  FLASH_CHECK_LAUNCH();
}

template <bool kPingPong>
void launch_wgmma_tma(const FlashParams& p, ElementType type, int batch, cudaStream_t stream) {
  using C = WgmmaConfig;
  const TmaMaps maps{make_tensor_map(p.q, type, p.q_len, batch * p.heads, C::kBlockM),
                     make_tensor_map(p.k, type, p.kv_len, batch * p.kv_heads, C::kBlockN),
                     make_tensor_map(p.v, type, p.kv_len, batch * p.kv_heads, C::kBlockN)};
  if (type == ElementType::bf16)
    launch_wgmma_tma_typed<__nv_bfloat16, kPingPong>(p, maps, batch, stream);
  else
    launch_wgmma_tma_typed<__half, kPingPong>(p, maps, batch, stream);
}

struct Variant {
  const char* name;
  int head_dim;
  bool needs_sm90a;  // wgmma: built for sm_90a and running on a compute capability 9.0 device
  void (*launch)(const FlashParams&, ElementType, int, cudaStream_t);
};

//                D    BN  warps  m16 tiles/warp  min blocks/SM
using D128N64W4 = MmaConfig<128, 64, 4, 2, 2>;
using D128N32W4 = MmaConfig<128, 32, 4, 2, 2>;
using D64N64W4 = MmaConfig<64, 64, 4, 2, 2>;

constexpr Variant kVariants[] = {
    {"mma.sync D128 Bm128 Bn64, 4 warps x 32 rows", 128, false, &launch_mma<D128N64W4>},
    {"mma.sync D128 Bm128 Bn32, 4 warps x 32 rows", 128, false, &launch_mma<D128N32W4>},
    {"mma.sync D64 Bm128 Bn64, 4 warps x 32 rows", 64, false, &launch_mma<D64N64W4>},
    {"wgmma D128 Bm128 Bn128, cp.async, 2 warpgroups", 128, true, &launch_wgmma},
    {"wgmma D128 Bm128 Bn128, TMA producer + 2 warpgroups", 128, true, &launch_wgmma_tma<false>},
    {"wgmma D128 Bm128 Bn128, TMA producer + 2 wg ping-pong", 128, true, &launch_wgmma_tma<true>},
};
constexpr int kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);
constexpr int kWgmmaD128 = 5, kMmaD128 = 0, kMmaD64 = 2;

// Whether wgmma kernels can run: compiled for sm_90a (CMake defines RINGBENCH_FLASH_SM90A
// then) and the current device is compute capability 9.0. Cached per device.
bool wgmma_available() {
#if defined(RINGBENCH_FLASH_SM90A)
  constexpr int kMaxDevices = 64;
  static std::atomic<int> cached[kMaxDevices] = {};  // 0 unknown, 1 yes, 2 no
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return false;
  int state = cached[device].load(std::memory_order_relaxed);
  if (state == 0) {
    int major = 0, minor = 0;
    const bool ok =
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
    state = ok && major == 9 && minor == 0 ? 1 : 2;
    cached[device].store(state, std::memory_order_relaxed);
  }
  return state == 1;
#else
  return false;
#endif
}

bool aligned(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

bool shape_supported(const BlockAttentionArgs& a) {
  return a.batch > 0 && a.heads > 0 && a.kv_heads > 0 && a.q_len > 0 && a.kv_len > 0 &&
         a.heads % a.kv_heads == 0 && a.heads <= 65535 && a.batch <= 65535 &&
         a.softmax_scale > 0.f && std::isfinite(a.softmax_scale) && aligned(a.q, 16) &&
         aligned(a.k, 16) && aligned(a.v, 16) && aligned(a.o_acc, 8) && a.q_pos != nullptr &&
         a.kv_pos != nullptr && a.lse_acc != nullptr &&
         (a.mask != MaskKind::terms || (a.tiles.offsets != nullptr && a.tiles.entries != nullptr &&
                                        a.tiles.order != nullptr && a.terms.map_block > 0));
}

FlashParams make_params(const BlockAttentionArgs& a) {
  const BandLimits band = band_limits(a);
  return FlashParams{a.q,
                     a.k,
                     a.v,
                     a.q_pos,
                     a.kv_pos,
                     a.o_acc,
                     a.lse_acc,
                     a.heads,
                     a.kv_heads,
                     a.heads / a.kv_heads,
                     a.q_len,
                     a.kv_len,
                     a.softmax_scale * kLog2e,
                     band.banded,
                     band.left,
                     band.right,
                     a.mask == MaskKind::terms ? a.tiles.offsets : nullptr,
                     a.mask == MaskKind::terms ? a.tiles.entries : nullptr,
                     a.tiles.order,
                     a.terms};
}

}  // namespace

int flash_variant_count() {
  return kNumVariants;
}

const char* flash_variant_name(int variant) {
  return variant >= 0 && variant < kNumVariants ? kVariants[variant].name : "none";
}

bool flash_variant_supports(int variant, const BlockAttentionArgs& a) {
  return variant >= 0 && variant < kNumVariants && shape_supported(a) &&
         kVariants[variant].head_dim == a.head_dim &&
         (!kVariants[variant].needs_sm90a || wgmma_available());
}

int flash_default_variant(const BlockAttentionArgs& a) {
  if (!shape_supported(a)) return -1;
  if (a.head_dim == 128) return wgmma_available() ? kWgmmaD128 : kMmaD128;
  if (a.head_dim == 64) return kMmaD64;
  return -1;
}

bool flash_supports(const BlockAttentionArgs& a) {
  return flash_default_variant(a) >= 0;
}

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
