#include "distributed/MpiTransport.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <utility>

#include "distributed/MpiCheck.hpp"

namespace ringbench {

MpiTransport::MpiTransport(MPI_Comm ring) : ring_(ring) {
  int rank = 0, size = 1;
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(ring, &rank));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(ring, &size));
  next_ = (rank + 1) % size;
  prev_ = (rank + size - 1) % size;
  worker_ = std::thread([this] { serve(); });
}

MpiTransport::~MpiTransport() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void MpiTransport::start_exchange(const void* send, void* recv, std::size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    send_ = send;
    recv_ = recv;
    bytes_ = bytes;
    pending_ = true;
  }
  changed_.notify_all();
}

void MpiTransport::wait_exchange() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !pending_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

std::vector<double> MpiTransport::take_comm_ms() {
  std::lock_guard lock(mutex_);
  return std::exchange(comm_ms_, {});
}

void MpiTransport::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    lock.unlock();
    const auto begin = std::chrono::steady_clock::now();
    std::exception_ptr error;
    try {
      exchange(send_, recv_, bytes_);
    } catch (...) {
      error = std::current_exception();
    }
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - begin;
    lock.lock();
    comm_ms_.push_back(took.count());
    error_ = error;
    pending_ = false;
    changed_.notify_all();
  }
}

void MpiTransport::exchange(const void* send, void* recv, std::size_t bytes) const {
  // MPI counts are ints: move blocks larger than 1 GiB in pieces.
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  const auto* out = static_cast<const char*>(send);
  auto* in = static_cast<char*>(recv);
  for (std::size_t done = 0; done < bytes || (bytes == 0 && done == 0); done += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, bytes - done));
    RINGBENCH_CHECK_MPI(MPI_Sendrecv(out + done, n, MPI_BYTE, next_, 0, in + done, n, MPI_BYTE,
                                     prev_, 0, ring_, MPI_STATUS_IGNORE));
    if (bytes == 0) break;
  }
}

}  // namespace ringbench
