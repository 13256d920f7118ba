// Transport between GPUs of different ranks: the block goes to rank+1 and comes from rank-1 with
// grouped ncclSend/ncclRecv, so both directions run at once.
#pragma once

#include "distributed/cuda/NcclCommunicator.hpp"
#include "distributed/cuda/StreamTransport.hpp"

namespace ringbench {

class NcclTransport final : public StreamTransport {
 public:
  NcclTransport(NcclCommunicator& comm, cudaStream_t compute, int steps)
      : StreamTransport(compute, steps),
        comm_(comm),
        next_((comm.rank() + 1) % comm.size()),
        prev_((comm.rank() + comm.size() - 1) % comm.size()) {}

 private:
  void enqueue(const void* send, void* recv, std::size_t bytes, int, cudaStream_t stream) override {
    RINGBENCH_CHECK_NCCL(ncclGroupStart());
    RINGBENCH_CHECK_NCCL(ncclSend(send, bytes, ncclUint8, next_, comm_.get(), stream));
    RINGBENCH_CHECK_NCCL(ncclRecv(recv, bytes, ncclUint8, prev_, comm_.get(), stream));
    RINGBENCH_CHECK_NCCL(ncclGroupEnd());
  }

  NcclCommunicator& comm_;
  int next_, prev_;
};

}  // namespace ringbench
