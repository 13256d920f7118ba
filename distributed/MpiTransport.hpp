// Transport for host buffers over MPI. The exchange runs on a helper thread that starts the send
// and the receive and polls them: MPI implementations progress large nonblocking messages only
// inside MPI calls, so a dedicated thread is what makes the transfer really overlap the
// computation (and lets us time the transfer itself). Polling, not a blocking MPI_Sendrecv, bounds
// the wait: a neighbour that does not answer within the timeout is named in the error.
#pragma once

#include <mpi.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "distributed/Transport.hpp"

namespace ringbench {

class MpiTransport final : public Transport {
 public:
  MpiTransport(MPI_Comm ring, double timeout_s);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  void start_exchange(const void* send, void* recv, std::size_t bytes) override;
  void wait_exchange() override;
  std::vector<double> take_comm_ms() override;

 private:
  void serve();
  void exchange(const void* send, void* recv, std::size_t bytes) const;
  std::string stalled_message(bool received, bool sent) const;

  MPI_Comm ring_;
  double timeout_s_;
  int next_ = 0, prev_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  const void* send_ = nullptr;
  void* recv_ = nullptr;
  std::size_t bytes_ = 0;
  bool pending_ = false, stopping_ = false;
  std::exception_ptr error_;
  std::vector<double> comm_ms_;
  std::thread worker_;  // last: starts after every member above exists
};

}  // namespace ringbench
