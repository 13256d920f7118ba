#include "distributed/cuda/NcclCommunicator.hpp"

#include <cstring>
#include <string>

#include "distributed/Collectives.hpp"
#include "distributed/MpiCheck.hpp"
#include "distributed/PeerWait.hpp"
#include "distributed/cuda/CudaCheck.hpp"
#include "distributed/cuda/EventWait.hpp"

namespace ringbench {

NcclCommunicator::NcclCommunicator(MPI_Comm comm) {
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(comm, &rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(comm, &size_));
  ncclUniqueId id{};
  if (rank_ == 0) RINGBENCH_CHECK_NCCL(ncclGetUniqueId(&id));
  std::string bytes(reinterpret_cast<const char*>(&id), sizeof id);
  broadcast(comm, bytes);
  std::memcpy(&id, bytes.data(), sizeof id);
  // Every rank must join the init; one that does not is caught by the watchdog.
  const Watchdog watchdog("ncclCommInitRank (" + std::to_string(size_) + " ranks)",
                          peer_timeout_s());
  RINGBENCH_CHECK_NCCL(ncclCommInitRank(&comm_, size_, id, rank_));
}

NcclCommunicator::~NcclCommunicator() {
  if (!comm_) return;
  // Finalize flushes outstanding work; on an error state only an abort is safe.
  ncclResult_t state = ncclSuccess;
  ncclCommGetAsyncError(comm_, &state);
  if (state == ncclSuccess && ncclCommFinalize(comm_) == ncclSuccess) {
    ncclCommDestroy(comm_);
  } else {
    ncclCommAbort(comm_);
  }
}

void NcclCommunicator::abort() {
  if (comm_) ncclCommAbort(comm_);
  comm_ = nullptr;
}

void NcclCommunicator::wait(cudaEvent_t event, double timeout_s) {
  wait_with_deadline(
      event, timeout_s,
      [this] {
        ncclResult_t state = ncclSuccess;
        RINGBENCH_CHECK_NCCL(ncclCommGetAsyncError(comm_, &state));
        if (state == ncclSuccess || state == ncclInProgress) return;
        const std::string text =
            std::string(ncclGetErrorString(state)) + ": " + ncclGetLastError(comm_);
        abort();
        throw LibraryError("NCCL asynchronous error on rank " + std::to_string(rank_) + ": " +
                           text);
      },
      [this, timeout_s] {
        abort();
        throw LibraryError("NCCL: rank " + std::to_string(rank_) + " waited more than " +
                           std::to_string(timeout_s) +
                           " s for GPU work (a peer failed or hangs); " + "communicator aborted");
      });
}

}  // namespace ringbench
