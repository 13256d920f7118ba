// Transport of a P-way ring simulated in one process (--virtual-ranks) on the host: the block a
// virtual rank would receive from its predecessor is copied from the owner's local block.
#pragma once

#include <chrono>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "distributed/Transport.hpp"
#include "distributed/VirtualRing.hpp"

namespace ringbench {

class HostCopyTransport final : public Transport {
 public:
  HostCopyTransport(std::shared_ptr<const VirtualRing> ring, int rank)
      : ring_(std::move(ring)), rank_(rank) {}

  void start_exchange(const void*, void* recv, std::size_t bytes) override {
    const auto begin = std::chrono::steady_clock::now();
    std::memcpy(recv, ring_->local_blocks[ring_->source(rank_, static_cast<int>(comm_ms_.size()))],
                bytes);
    comm_ms_.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
            .count());
  }
  void wait_exchange() override {}
  std::vector<double> take_comm_ms() override { return std::exchange(comm_ms_, {}); }

 private:
  std::shared_ptr<const VirtualRing> ring_;
  int rank_;
  std::vector<double> comm_ms_;
};

}  // namespace ringbench
