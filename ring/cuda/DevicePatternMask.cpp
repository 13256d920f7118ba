#include "ring/cuda/DevicePatternMask.hpp"

#include <limits>
#include <stdexcept>

#include "distributed/cuda/CudaCheck.hpp"

namespace ringbench {

namespace {

int narrow(std::int64_t v) {
  return static_cast<int>(std::min<std::int64_t>(v, std::numeric_limits<int>::max()));
}

template <typename T>
DeviceBuffer upload(const std::vector<T>& host, cudaStream_t stream) {
  DeviceBuffer buffer(std::max<std::size_t>(1, host.size()) * sizeof(T));
  if (!host.empty())
    RINGBENCH_CHECK_CUDA(cudaMemcpyAsync(buffer.get(), host.data(), host.size() * sizeof(T),
                                         cudaMemcpyHostToDevice, stream));
  return buffer;
}

void append_runs(std::vector<std::int64_t>& key, std::span<const PositionRun> runs) {
  key.push_back(static_cast<std::int64_t>(runs.size()));
  for (const PositionRun& r : runs)
    key.insert(key.end(), {r.local_start, r.global_start, r.length, r.stride});
}

}  // namespace

DevicePatternMask::DevicePatternMask(std::shared_ptr<const AttentionPattern> pattern,
                                     cudaStream_t stream)
    : pattern_(std::move(pattern)), stream_(stream) {
  const auto terms = pattern_->mask_terms();
  if (!terms) throw std::logic_error("DevicePatternMask: " + pattern_->spec() + " has no terms");
  if (terms->band) {
    terms_.band = true;
    terms_.band_left = narrow(terms->band->left);
    terms_.band_right = narrow(terms->band->right);
  }
  terms_.globals = narrow(terms->globals);
  terms_.causal = terms->causal;
  terms_.segment = narrow(terms->segment);
  if (terms->block_map) {
    const BlockBitmap map = pattern_->block_bitmap();
    block_map_ = upload(map.bits, stream_);
    RINGBENCH_CHECK_CUDA(cudaStreamSynchronize(stream_));  // `map` goes out of scope
    terms_.block_map = block_map_.get<std::uint32_t>();
    terms_.map_block = narrow(map.block);
    terms_.map_words = narrow(map.words);
  }
}

cuda::TileList DevicePatternMask::tiles(std::span<const PositionRun> q_runs,
                                        std::span<const PositionRun> kv_runs, TileShape shape) {
  std::vector<std::int64_t> key{shape.by_keys, shape.block, shape.tile};
  append_runs(key, q_runs);
  append_runs(key, kv_runs);
  auto found = lists_.find(key);
  if (found == lists_.end()) {
    if (lists_.size() >= kMaxLists) {
      RINGBENCH_CHECK_CUDA(cudaStreamSynchronize(stream_));  // no launch still reads them
      lists_.clear();
    }
    KeyTileList list =
        build_tile_list(*pattern_, expand_positions(q_runs), expand_positions(kv_runs), shape);
    Lists lists{
        std::move(list.offsets), std::move(list.entries), std::move(list.order), {}, {}, {}};
    lists.device_offsets = upload(lists.offsets, stream_);
    lists.device_entries = upload(lists.entries, stream_);
    lists.device_order = upload(lists.order, stream_);
    found = lists_.emplace(std::move(key), std::move(lists)).first;
  }
  return {found->second.device_offsets.get<std::int32_t>(),
          found->second.device_entries.get<std::int32_t>(),
          found->second.device_order.get<std::int32_t>()};
}

}  // namespace ringbench
