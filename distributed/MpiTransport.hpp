// Transport for host buffers over MPI. The exchange runs on a helper thread as one blocking
// MPI_Sendrecv: MPI implementations progress large nonblocking messages only inside MPI calls,
// so a dedicated thread is what makes the transfer really overlap the computation (and lets us
// time the transfer itself).
#pragma once

#include <mpi.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "distributed/Transport.hpp"

namespace ringbench {

class MpiTransport final : public Transport {
 public:
  explicit MpiTransport(MPI_Comm ring);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  void start_exchange(const void* send, void* recv, std::size_t bytes) override;
  void wait_exchange() override;
  std::vector<double> take_comm_ms() override;

 private:
  void serve();
  void exchange(const void* send, void* recv, std::size_t bytes) const;

  MPI_Comm ring_;
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
