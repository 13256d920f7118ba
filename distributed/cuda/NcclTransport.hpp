// Transport between GPUs of different ranks: the block goes to rank+1 and comes from rank-1 with
// grouped ncclSend/ncclRecv, so both directions run at once.
#pragma once

#include <stdexcept>

#include "distributed/cuda/DeviceRows.hpp"
#include "distributed/cuda/NcclCommunicator.hpp"
#include "distributed/cuda/StreamTransport.hpp"

namespace ringbench {

// One hop of the ring: `send_bytes` from `send` to rank+1 and `recv_bytes` (what rank-1 sends)
// from rank-1 into `recv`, grouped so both directions run at once, on `stream`.
inline void nccl_ring_exchange(NcclCommunicator& comm, const void* send, std::size_t send_bytes,
                               void* recv, std::size_t recv_bytes, cudaStream_t stream) {
  const int next = (comm.rank() + 1) % comm.size(),
            prev = (comm.rank() + comm.size() - 1) % comm.size();
  RINGBENCH_CHECK_NCCL(ncclGroupStart());
  RINGBENCH_CHECK_NCCL(ncclSend(send, send_bytes, ncclUint8, next, comm.get(), stream));
  RINGBENCH_CHECK_NCCL(ncclRecv(recv, recv_bytes, ncclUint8, prev, comm.get(), stream));
  RINGBENCH_CHECK_NCCL(ncclGroupEnd());
}
inline void nccl_ring_exchange(NcclCommunicator& comm, const void* send, void* recv,
                               std::size_t bytes, cudaStream_t stream) {
  nccl_ring_exchange(comm, send, bytes, recv, bytes, stream);
}

class NcclTransport final : public StreamTransport {
 public:
  // `staging_bytes`: room for the packed rows sent and received (0 where whole blocks travel).
  NcclTransport(NcclCommunicator& comm, cudaStream_t compute, int steps,
                std::size_t staging_bytes = 0)
      : StreamTransport(compute, steps),
        comm_(comm),
        staging_(staging_bytes),
        half_(staging_bytes / 2) {}

 private:
  void enqueue(const void* send, void* recv, std::size_t bytes, int, cudaStream_t stream) override {
    nccl_ring_exchange(comm_, send, recv, bytes, stream);
  }
  // NCCL moves bytes, not strided rows: pack, exchange the packed rows, put them in place.
  void enqueue_rows(const void* send, void* recv, const RowExchange& rows, int,
                    cudaStream_t stream) override {
    if (rows.send_bytes() > half_ || rows.recv_bytes() > half_)
      throw std::logic_error("NcclTransport: no staging for the rows of this exchange");
    char* out = staging_.get<char>();
    char* in = out + half_;
    move_device_rows(RowMove::pack, send, rows, rows.send, out, stream);
    nccl_ring_exchange(comm_, out, rows.send_bytes(), in, rows.recv_bytes(), stream);
    move_device_rows(RowMove::unpack, in, rows, rows.recv, recv, stream);
  }

  NcclCommunicator& comm_;
  DeviceBuffer staging_;
  std::size_t half_;
};

}  // namespace ringbench
