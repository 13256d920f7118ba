#include "distributed/cuda/DeviceRelayTransport.hpp"

#include <stdexcept>
#include <string>

namespace ringbench {

DeviceRelayRing::DeviceRelayRing(int ranks_, int exchanges)
    : ranks(static_cast<std::size_t>(ranks_)) {
  for (Rank& r : ranks) {
    r.posted = std::vector<CudaEvent>(static_cast<std::size_t>(exchanges));
    r.copied = std::vector<CudaEvent>(static_cast<std::size_t>(exchanges));
  }
}

DeviceRelayTransport::DeviceRelayTransport(std::shared_ptr<DeviceRelayRing> ring, int rank,
                                           cudaStream_t compute, int predecessor, int successor)
    : ring_(std::move(ring)),
      rank_(rank),
      predecessor_(predecessor < 0 ? rank - 1 : predecessor),
      successor_(successor < 0 ? rank + 1 : successor),
      compute_(compute),
      begin_(ring_->ranks.front().posted.size()),
      end_(ring_->ranks.front().posted.size()) {}

DeviceRelayRing::Rank& DeviceRelayTransport::at(int rank) const {
  const int P = static_cast<int>(ring_->ranks.size());
  return ring_->ranks[static_cast<std::size_t>((rank % P + P) % P)];
}

void DeviceRelayTransport::start_exchange(const void* send, void* recv, std::size_t bytes) {
  if (index_ >= static_cast<int>(begin_.size()))
    throw std::logic_error("DeviceRelayTransport: more exchanges than planned in one iteration");
  DeviceRelayRing::Rank& me = at(rank_);
  me.posted[index_].record(compute_);  // after the work that wrote `send`
  me.data = send;
  me.bytes = bytes;
  me.exchange = ++exchange_;
  recv_ = recv;
  bytes_ = bytes;
}

void DeviceRelayTransport::wait_exchange() {
  const DeviceRelayRing::Rank& from = at(predecessor_);
  if (from.exchange != exchange_ || from.bytes != bytes_)
    throw std::logic_error("DeviceRelayTransport: rank " + std::to_string(rank_) +
                           " waits for an exchange its predecessor has not posted (virtual "
                           "ranks out of step)");
  RINGBENCH_CHECK_CUDA(cudaStreamWaitEvent(compute_, from.posted[index_].get(), 0));
  // `recv_` may be the block this rank sent one exchange ago (from the third exchange on, the
  // two receive buffers alternate): the successor must have copied it out. Where it is not, the
  // wait costs nothing but order.
  if (index_ > 0)
    RINGBENCH_CHECK_CUDA(cudaStreamWaitEvent(compute_, at(successor_).copied[index_ - 1].get(), 0));
  begin_[index_].record(compute_);
  RINGBENCH_CHECK_CUDA(
      cudaMemcpyAsync(recv_, from.data, bytes_, cudaMemcpyDeviceToDevice, compute_));
  end_[index_].record(compute_);
  at(rank_).copied[index_].record(compute_);
  ++index_;
}

std::vector<double> DeviceRelayTransport::take_comm_ms() {
  std::vector<double> ms;
  for (int i = 0; i < index_; ++i) ms.push_back(end_[i].since(begin_[i]));
  index_ = 0;
  return ms;
}

}  // namespace ringbench
