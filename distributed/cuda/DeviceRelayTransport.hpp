// Transport of a P-way ring simulated on one GPU (--virtual-ranks) for the backward pass, whose
// blocks change on the way (their dK/dV accumulators grow at every rank), so the owner's block
// cannot stand in for what the predecessor sends (DeviceCopyTransport's shortcut). start_exchange
// posts what this rank sends; wait_exchange copies the predecessor's posted block on this rank's
// compute stream, after the predecessor's work that produced it. Every rank must post before any
// rank waits: RingBackward runs virtual ranks in that lockstep (as RelayTransport on the host).
#pragma once

#include <memory>
#include <vector>

#include "distributed/Transport.hpp"
#include "distributed/cuda/CudaHandles.hpp"

namespace ringbench {

// What each virtual rank has posted, and when its receive buffers were last read.
struct DeviceRelayRing {
  struct Rank {
    const void* data = nullptr;
    std::size_t bytes = 0;
    long exchange = -1;
    std::vector<CudaEvent> posted;  // per exchange of an iteration: the sent block is complete
    std::vector<CudaEvent> copied;  // per exchange: the copy out of the sent block has finished
  };
  DeviceRelayRing(int ranks, int exchanges);
  std::vector<Rank> ranks;
};

class DeviceRelayTransport final : public Transport {
 public:
  // `predecessor`, `successor`: whose posts this rank receives and who receives its own (-1: rank
  // -/+ 1 of the ring; a sub-ring of a double ring names its own).
  DeviceRelayTransport(std::shared_ptr<DeviceRelayRing> ring, int rank, cudaStream_t compute,
                       int predecessor = -1, int successor = -1);
  void start_exchange(const void* send, void* recv, std::size_t bytes) override;
  void wait_exchange() override;
  std::vector<double> take_comm_ms() override;

 private:
  DeviceRelayRing::Rank& at(int rank) const;

  std::shared_ptr<DeviceRelayRing> ring_;
  int rank_, predecessor_, successor_;
  cudaStream_t compute_;
  long exchange_ = -1;  // counts every exchange of the run: posts of one hop carry the same number
  int index_ = 0;       // exchanges of this iteration so far
  void* recv_ = nullptr;
  std::size_t bytes_ = 0;
  std::vector<CudaEvent> begin_, end_;
};

}  // namespace ringbench
