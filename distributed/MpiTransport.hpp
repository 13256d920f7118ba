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
#include <vector>

#include "distributed/Transport.hpp"

namespace ringbench {

class MpiTransport final : public Transport {
 public:
  MpiTransport(MPI_Comm ring, double timeout_s);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  void start_exchange(const void* send, void* recv, std::size_t bytes) override;
  // The rows travel packed into host buffers of this transport and are put in place on arrival.
  void start_exchange_rows(const void* send, void* recv, const RowExchange& rows) override;
  void wait_exchange() override;
  std::vector<double> take_comm_ms() override;

 private:
  // One exchange for the worker: the bytes to send and to receive, and where received rows go.
  struct Pending {
    const void* send = nullptr;
    std::size_t send_bytes = 0;
    void* recv = nullptr;
    std::size_t recv_bytes = 0;
    void* unpack_to = nullptr;
    const RowExchange* rows = nullptr;  // rows received packed into `recv`, to unpack
  };
  void post(const Pending& work);
  void serve();
  void exchange(const void* send, std::size_t send_bytes, void* recv, std::size_t recv_bytes) const;
  std::string stalled_message(bool received, bool sent) const;

  MPI_Comm ring_;
  double timeout_s_;
  int next_ = 0, prev_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  Pending work_;
  RowExchange rows_;                         // of the exchange of rows in flight
  std::vector<char> send_rows_, recv_rows_;  // its packed rows
  bool pending_ = false, stopping_ = false;
  std::exception_ptr error_;
  std::vector<double> comm_ms_;
  std::thread worker_;  // last: starts after every member above exists
};

}  // namespace ringbench
