#include "distributed/cuda/StreamTransport.hpp"

#include <stdexcept>

namespace ringbench {

StreamTransport::StreamTransport(cudaStream_t compute, int steps)
    : compute_(compute),
      begin_(static_cast<std::size_t>(steps)),
      end_(static_cast<std::size_t>(steps)) {}

void StreamTransport::start_exchange(const void* send, void* recv, std::size_t bytes) {
  run_exchange(recv,
               [&](int index, cudaStream_t stream) { enqueue(send, recv, bytes, index, stream); });
}

void StreamTransport::start_exchange_rows(const void* send, void* recv, const RowExchange& rows) {
  run_exchange(
      recv, [&](int index, cudaStream_t stream) { enqueue_rows(send, recv, rows, index, stream); });
}

template <class Enqueue>
void StreamTransport::run_exchange(void* recv, Enqueue&& transfer) {
  if (started_ >= static_cast<int>(begin_.size()))
    throw std::logic_error("StreamTransport: more exchanges than steps in one iteration");
  // `recv` was read by the compute work queued so far (the previous step): wait for it.
  compute_done_.record(compute_);
  RINGBENCH_CHECK_CUDA(cudaStreamWaitEvent(stream_.get(), compute_done_.get(), 0));
  begin_[started_].record(stream_.get());
  transfer(started_, stream_.get());
  end_[started_].record(stream_.get());
  complete(recv, started_, stream_.get());
  ready_.record(stream_.get());
  ++started_;
}

void StreamTransport::wait_exchange() {
  // The next compute waits on the device for the received block; the host never blocks here.
  RINGBENCH_CHECK_CUDA(cudaStreamWaitEvent(compute_, ready_.get(), 0));
}

std::vector<double> StreamTransport::take_comm_ms() {
  std::vector<double> ms;
  for (int i = 0; i < started_; ++i) ms.push_back(end_[i].since(begin_[i]));
  started_ = 0;
  return ms;
}

}  // namespace ringbench
