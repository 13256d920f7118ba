// Transport of an emulated ring member on a GPU: the real link moves the block's bytes into a
// scratch buffer (NCCL to the real neighbours; with one rank, a device-to-device copy of the same
// size), and then the block the member would receive is generated in place on the transport's
// stream (the owner's K/V, bit-identical to what the owner holds). comm_ms times the link alone;
// the generation, ordered after it, delays the next step only where it is not hidden.
#pragma once

#include <memory>
#include <utility>

#include "distributed/cuda/NcclTransport.hpp"
#include "distributed/cuda/StreamTransport.hpp"
#include "ring/EmulatedRing.hpp"
#include "ring/cuda/DeviceFill.cuh"

namespace ringbench {

class EmulatedDeviceTransport final : public StreamTransport {
 public:
  // `comm`: the real ring, or null on one rank; `block_bytes`: the largest block exchanged.
  EmulatedDeviceTransport(NcclCommunicator* comm, std::shared_ptr<const EmulatedBlocks> blocks,
                          const ProblemSpec& spec, std::size_t block_bytes, cudaStream_t compute,
                          int steps)
      : StreamTransport(compute, steps),
        comm_(comm),
        blocks_(std::move(blocks)),
        spec_(spec),
        scratch_(block_bytes) {}

 private:
  void enqueue(const void* send, void*, std::size_t bytes, int index,
               cudaStream_t stream) override {
    move(send, blocks_->link_exchange(index, planes(), bytes, std::nullopt), stream);
  }
  void enqueue_rows(const void* send, void*, const RowExchange& rows, int index,
                    cudaStream_t stream) override {
    const std::size_t bytes = static_cast<std::size_t>(rows.planes * rows.tokens) * rows.row_bytes;
    move(send, blocks_->link_exchange(index, planes(), bytes, rows.send), stream);
  }
  // The link moves as many bytes as the member sends and its real predecessor's member sends
  // (their contents are not used: the block is generated).
  void move(const void* send, const RowExchange& link, cudaStream_t stream) {
    if (comm_)
      nccl_ring_exchange(*comm_, send, link.send_bytes(), scratch_.get(), link.recv_bytes(),
                         stream);
    else
      RINGBENCH_CHECK_CUDA(cudaMemcpyAsync(scratch_.get(), send, link.recv_bytes(),
                                           cudaMemcpyDeviceToDevice, stream));
  }
  std::int64_t planes() const { return 2 * spec_.batch * spec_.effective_kv_heads(); }
  void complete(void* recv, int index, cudaStream_t stream) override {
    const auto runs = blocks_->runs_received(index);
    if (const auto rows = blocks_->rows_received(index))  // only the rows the step reads
      generate_device_kv_rows(blocks_->seed(), spec_, runs, *rows, recv, stream);
    else
      generate_device_kv_block(blocks_->seed(), spec_, runs, recv, stream);
  }

  NcclCommunicator* comm_;
  std::shared_ptr<const EmulatedBlocks> blocks_;
  ProblemSpec spec_;
  DeviceBuffer scratch_;
};

}  // namespace ringbench
