// RowCopier for the virtual ranks of one GPU: device-to-device copies and adds queued on a stream
// of its own (the ranks' compute streams are synchronized around the resharding by its caller).
#pragma once

#include "distributed/cuda/CudaHandles.hpp"
#include "ring/RowCopier.hpp"

namespace ringbench {

class DeviceRowCopier final : public RowCopier {
 public:
  explicit DeviceRowCopier(double timeout_s) : timeout_s_(timeout_s) {}
  void copy_rows(const void* from, std::size_t from_pitch, void* to, std::size_t to_pitch,
                 std::size_t rows, std::size_t row_bytes) override;
  void add(const float* from, float* to, std::size_t count) override;
  void zero(void* to, std::size_t bytes) override;
  std::shared_ptr<std::byte> allocate(std::size_t bytes) override;
  void finish() override;

 private:
  double timeout_s_;  // finish() waits at most this long
  CudaStream stream_;
  CudaEvent done_;
};

}  // namespace ringbench
