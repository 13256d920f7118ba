// An NCCL communicator over the ranks of an MPI communicator (unique id broadcast over MPI),
// destroyed cleanly, and a wait that polls NCCL's asynchronous error state with a deadline so a
// dead or failing peer ends in a clear error (and an aborted communicator) instead of a hang.
#pragma once

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

namespace ringbench {

class NcclCommunicator {
 public:
  explicit NcclCommunicator(MPI_Comm comm);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  ncclComm_t get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  // Returns once `event` has completed. Throws (after aborting the communicator) when NCCL
  // reports an error or `timeout_s` passes first.
  void wait(cudaEvent_t event, double timeout_s);

 private:
  void abort();
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1;
};

}  // namespace ringbench
