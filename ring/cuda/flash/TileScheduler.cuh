// Which key tiles a block of queries visits and in which order the blocks start: the mask's key
// ranges per row group (positions increase, so each is an interval), the span of tiles or the
// block's tile list, and heavy blocks first.
// A private part of FlashAttentionKernel.cu (one translation unit: the kernels and their helpers
// stay internal to it), included there in dependency order.
#pragma once

#include "flash/FlashParams.cuh"

namespace ringbench::cuda {
namespace {

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
// Key tiles that do not split the list's tiles (176 keys) walk spans only: kernels built with
// them never see mask terms (flash_variant_supports refuses them), and their list code is
// compiled out.
template <int kBlockN>
struct TileWalk {
  static constexpr bool kWalksLists = TileList::kKeys % kBlockN == 0;
  static constexpr int kSplit = kWalksLists ? TileList::kKeys / kBlockN : 1;
  const int32_t* list = nullptr;  // nullptr: consecutive tiles from `first`
  int first = 0, count = 0;       // count: loop steps

  __device__ __forceinline__ int k0(int t) const {
    if (!kWalksLists || list == nullptr) return (first + t) * kBlockN;
    return (__ldg(list + t / kSplit) >> 1) * TileList::kKeys + (t % kSplit) * kBlockN;
  }
  // Whether the tile's pairs need the per-pair test.
  __device__ __forceinline__ bool partial(int t, KeyRange range) const {
    if (!kWalksLists || list == nullptr) return needs_mask(range, k0(t), kBlockN);
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
  if (TileWalk<kBlockN>::kWalksLists && p.listed()) {
    const int b = q0 / TileList::kQueryRows;
    const int first = __ldg(p.tile_offsets + b), last = __ldg(p.tile_offsets + b + 1);
    return {p.tile_entries + first, 0, (last - first) * TileWalk<kBlockN>::kSplit};
  }
  const TileSpan span = block_tile_span<kBlockN>(begin, end);
  return {nullptr, span.first, span.count};
}

}  // namespace
}  // namespace ringbench::cuda
