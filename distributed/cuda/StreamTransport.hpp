// The device-side half every GPU transport shares: transfers run on a communication stream of
// their own, ordered against the compute stream by events (a receive buffer is written only after
// the compute that read it; the next compute starts only after its block arrived), each transfer
// timed by events. Subclasses say how bytes move: NCCL, or a device copy on one GPU.
#pragma once

#include <vector>

#include "distributed/Transport.hpp"
#include "distributed/cuda/CudaHandles.hpp"

namespace ringbench {

class StreamTransport : public Transport {
 public:
  // `steps`: exchanges per iteration (events are made once, not per step).
  StreamTransport(cudaStream_t compute, int steps);

  void start_exchange(const void* send, void* recv, std::size_t bytes) final;
  void start_exchange_rows(const void* send, void* recv, const RowExchange& rows) final;
  void wait_exchange() final;
  std::vector<double> take_comm_ms() final;
  cudaStream_t stream() const { return stream_.get(); }

 protected:
  // Enqueue the transfer of exchange number `index` (0-based within the iteration) on `stream`.
  virtual void enqueue(const void* send, void* recv, std::size_t bytes, int index,
                       cudaStream_t stream) = 0;
  // The same moving `rows` only (their packing and placing timed with the transfer).
  virtual void enqueue_rows(const void* send, void* recv, const RowExchange& rows, int index,
                            cudaStream_t stream) = 0;
  // What makes `recv` ready after the transfer (an emulated member's generated block), queued on
  // `stream` after the transfer's end is recorded: comm_ms times the transfer alone.
  virtual void complete(void* recv, int index, cudaStream_t stream) {
    (void)recv, (void)index, (void)stream;
  }

 private:
  template <class Enqueue>
  void run_exchange(void* recv, Enqueue&& transfer);

  cudaStream_t compute_;
  CudaStream stream_;
  CudaEvent compute_done_, ready_;
  std::vector<CudaEvent> begin_, end_;
  int started_ = 0;
};

}  // namespace ringbench
