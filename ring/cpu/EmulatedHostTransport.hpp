// Transport of an emulated ring member on the host: the block the member would receive is
// generated (the owner's K/V, bit-identical to what the owner holds), while the real link (MPI to
// the real neighbours; with one rank, to itself) moves the same bytes into a scratch buffer, so
// the time and bytes of the link are the resident ring's.
#pragma once

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/InputGenerator.hpp"
#include "distributed/Transport.hpp"
#include "ring/EmulatedRing.hpp"

namespace ringbench {

class EmulatedHostTransport final : public Transport {
 public:
  EmulatedHostTransport(std::unique_ptr<Transport> link,
                        std::shared_ptr<const EmulatedBlocks> blocks, const ProblemSpec& spec)
      : link_(std::move(link)), blocks_(std::move(blocks)), spec_(spec) {}

  void start_exchange(const void* send, void* recv, std::size_t bytes) override {
    scratch_.resize(bytes);
    link_->start_exchange(send, scratch_.data(), bytes);
    // made while the link moves the bytes, as the real block would arrive meanwhile; only the
    // rows the step reads
    const auto positions = expand_positions(blocks_->runs_received(index_));
    const std::span block(static_cast<float*>(recv), bytes / sizeof(float));
    if (const auto rows = blocks_->rows_received(index_++))
      generate_kv_rows(blocks_->seed(), spec_, positions, *rows, block);
    else
      generate_kv_block(blocks_->seed(), spec_, positions, block);
  }
  void wait_exchange() override { link_->wait_exchange(); }
  std::vector<double> take_comm_ms() override {
    index_ = 0;  // called once an iteration, after its last exchange
    return link_->take_comm_ms();
  }

 private:
  std::unique_ptr<Transport> link_;
  std::shared_ptr<const EmulatedBlocks> blocks_;
  ProblemSpec spec_;
  std::vector<char> scratch_;
  int index_ = 0;
};

}  // namespace ringbench
