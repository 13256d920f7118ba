// A pattern with MaskTerms as the own GPU kernels take it where it is not dense (forward:
// longformer, bigbird, blocksparse, dilated:W:1; backward: windows too):
// its MaskTerms, with the block map as a device bitmap, and the key tile lists
// (ring/KeyTileList.hpp) of every pair of run sets the kernel meets: this rank's queries against
// each block owner's keys, or the reference check's chunks. A list is built on the host the
// first time its pair is met (the warm-up iterations) and kept on the device, so a timed step
// reads it and nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/AttentionPattern.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "flash/BlockAttention.cuh"
#include "ring/KeyTileList.hpp"

namespace ringbench {

class DevicePatternMask {
 public:
  // `pattern` must have mask_terms().
  DevicePatternMask(std::shared_ptr<const AttentionPattern> pattern, cudaStream_t stream);

  std::string spec() const { return pattern_->spec(); }
  const cuda::PairTerms& terms() const { return terms_; }
  // The tile lists of `q_runs` against `kv_runs` in `shape` (the forward's or the backward's),
  // uploaded on `stream` when first asked for.
  cuda::TileList tiles(std::span<const PositionRun> q_runs, std::span<const PositionRun> kv_runs,
                       TileShape shape);

 private:
  struct Lists {
    std::vector<std::int32_t> offsets, entries, order;  // kept until the upload has surely run
    DeviceBuffer device_offsets, device_entries, device_order;
  };
  // Pairs of run sets a ring meets are few (one per block owner, plus the check's chunks); past
  // this many the cache starts over rather than growing.
  static constexpr std::size_t kMaxLists = 64;

  std::shared_ptr<const AttentionPattern> pattern_;
  cudaStream_t stream_;
  DeviceBuffer block_map_;  // uint32 words, rows of map_words
  cuda::PairTerms terms_;
  std::map<std::vector<std::int64_t>, Lists> lists_;
};

}  // namespace ringbench
