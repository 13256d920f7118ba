// Transport of a P-way ring simulated in one process (--virtual-ranks) for the backward pass, whose
// blocks change on the way (their dK/dV accumulators grow at every rank). HostCopyTransport can
// copy the owner's block because forward blocks never change; here start_exchange posts what this
// rank sends and wait_exchange copies the predecessor's posted block. Every rank of the ring must
// post an exchange before any rank waits for it: RingBackward runs virtual ranks in that lockstep.
#pragma once

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "distributed/Transport.hpp"

namespace ringbench {

// What each virtual rank has posted: the block and the exchange it belongs to.
struct RelayRing {
  struct Post {
    const void* data = nullptr;
    std::size_t bytes = 0;
    long exchange = -1;
  };
  explicit RelayRing(int ranks) : posts(static_cast<std::size_t>(ranks)) {}
  std::vector<Post> posts;
};

class RelayTransport final : public Transport {
 public:
  // `predecessor`: the rank whose posts this one receives (-1: rank - 1 of the ring; a sub-ring
  // of a double ring names its own).
  RelayTransport(std::shared_ptr<RelayRing> ring, int rank, int predecessor = -1)
      : ring_(std::move(ring)), rank_(rank), predecessor_(predecessor) {
    const int P = static_cast<int>(ring_->posts.size());
    if (predecessor_ < 0) predecessor_ = (rank_ + P - 1) % P;
  }

  void start_exchange(const void* send, void* recv, std::size_t bytes) override {
    ring_->posts[static_cast<std::size_t>(rank_)] = {send, bytes, ++exchange_};
    recv_ = recv;
    bytes_ = bytes;
  }

  void wait_exchange() override {
    const RelayRing::Post& from = ring_->posts[static_cast<std::size_t>(predecessor_)];
    if (from.exchange != exchange_ || from.bytes != bytes_)
      throw std::logic_error(
          "RelayTransport: rank " + std::to_string(rank_) +
          " waits for an exchange its predecessor has not posted (virtual ranks out of step)");
    const auto begin = std::chrono::steady_clock::now();
    std::memcpy(recv_, from.data, bytes_);
    comm_ms_.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
            .count());
  }

  std::vector<double> take_comm_ms() override { return std::exchange(comm_ms_, {}); }

 private:
  std::shared_ptr<RelayRing> ring_;
  int rank_, predecessor_;
  long exchange_ = -1;  // counts every exchange of the run: posts of one hop carry the same number
  void* recv_ = nullptr;
  std::size_t bytes_ = 0;
  std::vector<double> comm_ms_;
};

}  // namespace ringbench
