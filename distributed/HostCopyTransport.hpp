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
    timed([&] { std::memcpy(recv, owners_block(), bytes); });
  }
  // Only the rows the predecessor would send, each to its place.
  void start_exchange_rows(const void*, void* recv, const RowExchange& rows) override {
    timed([&] { copy_rows(owners_block(), rows, rows.recv, recv); });
  }
  void wait_exchange() override {}
  std::vector<double> take_comm_ms() override { return std::exchange(comm_ms_, {}); }

 private:
  // The block the next exchange delivers: the one its owner holds.
  const void* owners_block() const {
    return ring_->local_blocks[ring_->source(rank_, static_cast<int>(comm_ms_.size()))];
  }
  template <class F>
  void timed(F&& copy) {
    const auto begin = std::chrono::steady_clock::now();
    copy();
    comm_ms_.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
            .count());
  }

  std::shared_ptr<const VirtualRing> ring_;
  int rank_;
  std::vector<double> comm_ms_;
};

}  // namespace ringbench
