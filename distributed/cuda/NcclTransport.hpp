// Transport between GPUs of different ranks: the block goes to rank+1 and comes from rank-1 with
// grouped ncclSend/ncclRecv, so both directions run at once.
#pragma once

#include "distributed/cuda/NcclCommunicator.hpp"
#include "distributed/cuda/StreamTransport.hpp"

namespace ringbench {

// One hop of the ring: `bytes` from `send` to rank+1 and as many from rank-1 into `recv`, grouped
// so both directions run at once, on `stream`.
inline void nccl_ring_exchange(NcclCommunicator& comm, const void* send, void* recv,
                               std::size_t bytes, cudaStream_t stream) {
  const int next = (comm.rank() + 1) % comm.size(),
            prev = (comm.rank() + comm.size() - 1) % comm.size();
  RINGBENCH_CHECK_NCCL(ncclGroupStart());
  RINGBENCH_CHECK_NCCL(ncclSend(send, bytes, ncclUint8, next, comm.get(), stream));
  RINGBENCH_CHECK_NCCL(ncclRecv(recv, bytes, ncclUint8, prev, comm.get(), stream));
  RINGBENCH_CHECK_NCCL(ncclGroupEnd());
}

class NcclTransport final : public StreamTransport {
 public:
  NcclTransport(NcclCommunicator& comm, cudaStream_t compute, int steps)
      : StreamTransport(compute, steps), comm_(comm) {}

 private:
  void enqueue(const void* send, void* recv, std::size_t bytes, int, cudaStream_t stream) override {
    nccl_ring_exchange(comm_, send, recv, bytes, stream);
  }

  NcclCommunicator& comm_;
};

}  // namespace ringbench
