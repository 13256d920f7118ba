// A communicator of some of a parent's ranks (MPI_Comm_split), freed when it goes out of scope:
// the all-to-all group and the ring across groups of a hybrid scheme, made once per case before
// its timed iterations. The split is collective over the parent and runs under a watchdog (it has
// no nonblocking form), so a rank that never arrives ends the job instead of hanging it.
#pragma once

#include <mpi.h>

#include <string>

namespace ringbench {

class SubCommunicator {
 public:
  // Ranks of `parent` with the same `color` form one communicator, ordered by `key`. `what` names
  // it in the watchdog's message.
  SubCommunicator(MPI_Comm parent, int color, int key, const std::string& what);
  ~SubCommunicator();
  SubCommunicator(const SubCommunicator&) = delete;
  SubCommunicator& operator=(const SubCommunicator&) = delete;

  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace ringbench
