#include "distributed/SubCommunicator.hpp"

#include "distributed/MpiCheck.hpp"
#include "distributed/PeerWait.hpp"

namespace ringbench {

SubCommunicator::SubCommunicator(MPI_Comm parent, int color, int key, const std::string& what) {
  const Watchdog watchdog("MPI_Comm_split (" + what + ")", peer_timeout_s());
  RINGBENCH_CHECK_MPI(MPI_Comm_split(parent, color, key, &comm_));
}

SubCommunicator::~SubCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

}  // namespace ringbench
