// An MpiTransport over a ring of some of the ranks (a double ring's inner or outer ring), owning
// the communicator it splits off the parent: the ranks of one `color` form the ring, in the order
// of their `key`. The split is collective over the parent: every rank makes the same sub-rings in
// the same order.
#pragma once

#include <mpi.h>

#include <string>

#include "distributed/MpiTransport.hpp"
#include "distributed/SubCommunicator.hpp"

namespace ringbench {

class SubRingTransport final : public Transport {
 public:
  SubRingTransport(MPI_Comm parent, int color, int key, const std::string& what, double timeout_s)
      : comm_(parent, color, key, what), link_(comm_.get(), timeout_s) {}

  void start_exchange(const void* send, void* recv, std::size_t bytes) override {
    link_.start_exchange(send, recv, bytes);
  }
  void wait_exchange() override { link_.wait_exchange(); }
  std::vector<double> take_comm_ms() override { return link_.take_comm_ms(); }

 private:
  SubCommunicator comm_;  // first: the link's worker uses it until the link is gone
  MpiTransport link_;
};

}  // namespace ringbench
