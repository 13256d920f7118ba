// The token positions the own kernels judge masks from, on the device: the queries' (filled once
// per set of runs: they stay for a whole pass) and the block owner's (filled every step by a tiny
// kernel, so nothing crosses from the host). Used by the forward and backward block kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "core/SequenceLayout.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/cuda/DeviceFill.cuh"

namespace ringbench {

class DevicePositions {
 public:
  explicit DevicePositions(std::int64_t local_len)
      : q_(sizeof(std::int32_t) * local_len), kv_(sizeof(std::int32_t) * local_len) {}
  // It holds device_positions_bytes(local_len) (ring/MemoryPlan.hpp) until a longer chunk comes.

  // Positions of `q_len` queries (`q_runs`) and of `kv_len` keys (`kv_runs`); the buffers grow
  // for longer chunks (the reference checks'). The queries' are filled only when their runs change.
  void fill(std::span<const PositionRun> q_runs, std::int64_t q_len,
            std::span<const PositionRun> kv_runs, std::int64_t kv_len, cudaStream_t stream) {
    if (q_.bytes() < sizeof(std::int32_t) * q_len) {
      q_ = DeviceBuffer(sizeof(std::int32_t) * q_len);
      filled_q_.clear();
    }
    if (filled_q_.empty() || !std::ranges::equal(filled_q_, q_runs)) {
      fill_positions(q_.get<std::int32_t>(), q_runs, stream);
      filled_q_.assign(q_runs.begin(), q_runs.end());
    }
    if (kv_.bytes() < sizeof(std::int32_t) * kv_len)
      kv_ = DeviceBuffer(sizeof(std::int32_t) * kv_len);
    fill_positions(kv_.get<std::int32_t>(), kv_runs, stream);
  }
  const std::int32_t* q() const { return q_.get<std::int32_t>(); }
  const std::int32_t* kv() const { return kv_.get<std::int32_t>(); }

 private:
  DeviceBuffer q_, kv_;
  std::vector<PositionRun> filled_q_;  // the runs q_ holds (compared by value: a caller may
                                       // reuse one object for different runs)
};

}  // namespace ringbench
