// Transport of a P-way ring simulated on one GPU (--virtual-ranks): the block a virtual rank
// would receive from its predecessor is copied device-to-device from the owner's local block, so
// the compute side of a P-way ring can be measured without P GPUs.
#pragma once

#include <memory>

#include "distributed/VirtualRing.hpp"
#include "distributed/cuda/DeviceRows.hpp"
#include "distributed/cuda/StreamTransport.hpp"

namespace ringbench {

class DeviceCopyTransport final : public StreamTransport {
 public:
  DeviceCopyTransport(std::shared_ptr<const VirtualRing> ring, int rank, cudaStream_t compute,
                      int steps)
      : StreamTransport(compute, steps), ring_(std::move(ring)), rank_(rank) {}

 private:
  void enqueue(const void*, void* recv, std::size_t bytes, int index,
               cudaStream_t stream) override {
    RINGBENCH_CHECK_CUDA(cudaMemcpyAsync(recv, ring_->local_blocks[ring_->source(rank_, index)],
                                         bytes, cudaMemcpyDeviceToDevice, stream));
  }
  // only the rows the predecessor would send, each to its place
  void enqueue_rows(const void*, void* recv, const RowExchange& rows, int index,
                    cudaStream_t stream) override {
    move_device_rows(RowMove::copy, ring_->local_blocks[ring_->source(rank_, index)], rows,
                     rows.recv, recv, stream);
  }

  std::shared_ptr<const VirtualRing> ring_;
  int rank_;
};

}  // namespace ringbench
