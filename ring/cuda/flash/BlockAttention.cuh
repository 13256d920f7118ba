// Block attention kernels for ring attention: attend a rank's local queries to one
// K/V block and merge the partial result into a running, normalized fp32 output.
#pragma once

#include <cuda_runtime.h>
#include <cstdint>

namespace ringbench::cuda {

enum class ElementType { bf16, fp16 };

// causal: key j is allowed for query i iff kv_pos[j] <= q_pos[i]; band: iff
// q_pos[i] - band_left <= kv_pos[j] <= q_pos[i] + band_right (a sliding window); terms: iff the
// PairTerms allow (q_pos[i], kv_pos[j]) (longformer, bigbird, blocksparse).
enum class MaskKind { none, causal, band, terms };

// Mask `terms` (core/AttentionPattern.hpp's MaskTerms on the device): a pair is allowed when the
// band, the global tokens or the block map allows it, and then, under `causal`, only if k <= q,
// and with a segment, only if both lie in the same segment.
struct PairTerms {
  bool band = false;
  int band_left = 0, band_right = 0;
  int globals = 0;                      // q < globals or k < globals
  const uint32_t* block_map = nullptr;  // bit j % 32 of word [i * map_words + j / 32]: key
  int map_block = 1, map_words = 0;     // block j kept for query block i (blocks of map_block)
  bool causal = false;
  int segment = 0;  // > 0: q / segment == k / segment
};

// With mask `terms`, the flash kernels visit only listed tiles (ring/KeyTileList.hpp). Forward:
// query block b (rows 128 b ...) visits entries[offsets[b] .. offsets[b + 1]), entry = tile * 2 +
// partial, tiles of 128 keys; backward: key block b (keys 128 b ...) visits tiles of 64 queries.
// Only partial tiles test pairs; blocks run in `order` (longest first). The reference kernels
// test every pair and take no list.
struct TileList {
  static constexpr int kQueryRows = 128, kKeys = 128;  // the forward's blocks and tiles
  const int32_t* offsets = nullptr;
  const int32_t* entries = nullptr;
  const int32_t* order = nullptr;
};

#if defined(__CUDACC__)
__device__ __forceinline__ bool terms_allow(const PairTerms& t, int q, int k) {
  if (t.causal && k > q) return false;
  if (t.segment > 0 && q / t.segment != k / t.segment) return false;
  // positions are below 2^31, so their difference fits an int
  if (t.band && k - q <= t.band_right && q - k <= t.band_left) return true;
  if (q < t.globals || k < t.globals) return true;
  if (t.block_map == nullptr) return false;
  const int i = q / t.map_block, j = k / t.map_block;
  return (__ldg(t.block_map + size_t(i) * t.map_words + j / 32) >> (j % 32)) & 1u;
}
#endif

struct BlockAttentionArgs {
  const void* q;          // [batch, heads, q_len, head_dim] row-major, element type
  const void* k;          // [batch, kv_heads, kv_len, head_dim]
  const void* v;          // [batch, kv_heads, kv_len, head_dim]
  const int32_t* q_pos;   // device, [q_len] global token positions, strictly increasing
  const int32_t* kv_pos;  // device, [kv_len] strictly increasing
  float* o_acc;           // [batch, heads, q_len, head_dim] fp32 running output, normalized
  float* lse_acc;         // [batch, heads, q_len] fp32 running log-sum-exp (natural log of
                          // scaled scores); -INFINITY where nothing was accumulated yet
                          // (o_acc content is then ignored)
  int batch, heads, kv_heads, head_dim, q_len, kv_len;
  ElementType type;
  MaskKind mask;
  int band_left = 0, band_right = 0;  // with mask band (>= 0)
  PairTerms terms;                    // with mask terms
  TileList tiles;                     // with mask terms: the flash kernels' tile lists
  float softmax_scale;                // scores = softmax_scale * dot(q, k)
};

// The mask as a band, which is how the kernels apply it: key j allowed for query i iff
// q_pos[i] - left <= kv_pos[j] <= q_pos[i] + right; not `banded`: every key allowed.
struct BandLimits {
  bool banded;
  int left, right;
};
inline BandLimits band_limits(const BlockAttentionArgs& a) {
  if (a.mask == MaskKind::none) return {false, 0, 0};
  if (a.mask == MaskKind::causal) return {true, 0x7fffffff, 0};
  if (a.mask == MaskKind::terms) return {false, 0, 0};  // the terms say the rest
  return {true, a.band_left, a.band_right};
}

// Attend q to this k/v block and merge into (o_acc, lse_acc):
//   L = log(exp(L_acc) + exp(L_blk));  O = O_acc * exp(L_acc - L) + O_blk * exp(L_blk - L)
// Rows with no allowed key in this block keep o_acc/lse_acc untouched.
// Both functions are asynchronous on `stream` and throw std::runtime_error on launch errors;
// flash_attend_merge also throws when !flash_supports(a).
void flash_attend_merge(const BlockAttentionArgs& a, cudaStream_t stream);
void reference_attend_merge(const BlockAttentionArgs& a, cudaStream_t stream);

// head_dim 64 or 128, heads % kv_heads == 0, softmax_scale > 0, 16-byte aligned q/k/v,
// 8-byte aligned o_acc, positive sizes; with mask terms, tile lists.
bool flash_supports(const BlockAttentionArgs& a);

// Whether the wgmma kernels (forward and backward) can run: built for sm_90a and the current
// device is compute capability 9.0. Cached per device.
bool flash_wgmma_available();

// Test and benchmark hooks: the kernel variants flash_attend_merge chooses among.
int flash_variant_count();
const char* flash_variant_name(int variant);
bool flash_variant_supports(int variant, const BlockAttentionArgs& a);
int flash_default_variant(const BlockAttentionArgs& a);  // -1 when none supports `a`
void flash_attend_merge_variant(int variant, const BlockAttentionArgs& a, cudaStream_t stream);

}  // namespace ringbench::cuda
