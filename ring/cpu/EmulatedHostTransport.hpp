// Transport of an emulated ring member on the host: the block the member would receive is
// generated (the owner's K/V, bit-identical to what the owner holds), while the real link (MPI to
// the real neighbours; with one rank, to itself) moves the same bytes into a scratch buffer, so
// the time and bytes of the link are the resident ring's.
#pragma once

#include <memory>
#include <optional>
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
    exchange(send, recv, bytes, std::nullopt);
  }
  void start_exchange_rows(const void* send, void* recv, const RowExchange& rows) override {
    exchange(send, recv, static_cast<std::size_t>(rows.planes * rows.tokens) * rows.row_bytes,
             rows.send);
  }
  void wait_exchange() override { link_->wait_exchange(); }
  std::vector<double> take_comm_ms() override {
    index_ = 0;  // called once an iteration, after its last exchange
    return link_->take_comm_ms();
  }

 private:
  // The link moves what the member sends (`sent` rows, or all) and receives what the real
  // predecessor's member sends, as a resident ring's link would.
  void exchange(const void* send, void* recv, std::size_t bytes,
                std::optional<std::vector<RowSelection>> sent) {
    scratch_.resize(bytes);
    const std::int64_t planes = 2 * spec_.batch * spec_.effective_kv_heads();
    const RowExchange link = blocks_->link_exchange(index_, planes, bytes, std::move(sent));
    if (link.send_bytes() == bytes && link.recv_bytes() == bytes)
      link_->start_exchange(send, scratch_.data(), bytes);
    else
      link_->start_exchange_rows(send, scratch_.data(), link);
    generate(recv, bytes);
  }
  // The block the member receives, made while the link moves the bytes, as the real block would
  // arrive meanwhile; only the rows the step reads.
  void generate(void* recv, std::size_t bytes) {
    const auto positions = expand_positions(blocks_->runs_received(index_));
    const std::span block(static_cast<float*>(recv), bytes / sizeof(float));
    if (const auto rows = blocks_->rows_received(index_++))
      generate_kv_rows(blocks_->seed(), spec_, positions, *rows, block);
    else
      generate_kv_block(blocks_->seed(), spec_, positions, block);
  }

  std::unique_ptr<Transport> link_;
  std::shared_ptr<const EmulatedBlocks> blocks_;
  ProblemSpec spec_;
  std::vector<char> scratch_;
  int index_ = 0;
};

}  // namespace ringbench
