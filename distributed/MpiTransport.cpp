#include "distributed/MpiTransport.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <utility>

#include "distributed/MpiCheck.hpp"
#include "distributed/PeerWait.hpp"

namespace ringbench {

MpiTransport::MpiTransport(MPI_Comm ring, double timeout_s) : ring_(ring), timeout_s_(timeout_s) {
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
  post({send, bytes, recv, bytes, nullptr, nullptr});
}

void MpiTransport::start_exchange_rows(const void* send, void* recv, const RowExchange& rows) {
  // the rows travel packed; the block in hand is only read, so packing here is safe while the
  // worker is idle
  send_rows_.resize(rows.send_bytes());
  recv_rows_.resize(rows.recv_bytes());
  pack_rows(send, rows, rows.send, send_rows_.data());
  rows_ = rows;
  post({send_rows_.data(), send_rows_.size(), recv_rows_.data(), recv_rows_.size(), recv, &rows_});
}

void MpiTransport::post(const Pending& work) {
  {
    std::lock_guard lock(mutex_);
    work_ = work;
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
      exchange(work_.send, work_.send_bytes, work_.recv, work_.recv_bytes);
      if (work_.rows) unpack_rows(work_.recv, *work_.rows, work_.rows->recv, work_.unpack_to);
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

namespace {
// The MPI calls of every transport of this process, one at a time: MPI_THREAD_SERIALIZED allows
// calls from several threads only one after another, and a double ring runs three links at once.
std::mutex& mpi_calls() {
  static std::mutex calls;
  return calls;
}
}  // namespace

void MpiTransport::exchange(const void* send, std::size_t send_bytes, void* recv,
                            std::size_t recv_bytes) const {
  // MPI counts are ints: move blocks larger than 1 GiB in pieces. Each direction is cut by its
  // own size (what this rank sends is what the next one receives), at least one piece each.
  static constexpr std::size_t kPiece = std::size_t{1} << 30;
  const auto pieces = [](std::size_t bytes) {
    return std::max<std::size_t>(1, (bytes + kPiece - 1) / kPiece);
  };
  const auto piece = [](std::size_t bytes, std::size_t i) {
    return static_cast<int>(std::min(kPiece, bytes - std::min(bytes, i * kPiece)));
  };
  const auto* out = static_cast<const char*>(send);
  auto* in = static_cast<char*>(recv);
  const std::size_t n_out = pieces(send_bytes), n_in = pieces(recv_bytes);
  for (std::size_t i = 0; i < std::max(n_out, n_in); ++i) {
    MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};  // receive, send
    std::unique_lock calls(mpi_calls());
    if (i < n_in)
      RINGBENCH_CHECK_MPI(MPI_Irecv(in + i * kPiece, piece(recv_bytes, i), MPI_BYTE, prev_, 0,
                                    ring_, &requests[0]));
    if (i < n_out)
      RINGBENCH_CHECK_MPI(MPI_Isend(out + i * kPiece, piece(send_bytes, i), MPI_BYTE, next_, 0,
                                    ring_, &requests[1]));
    calls.unlock();
    int complete[2] = {i >= n_in, i >= n_out};
    try {
      wait_until(
          [&] {
            const std::lock_guard polling(mpi_calls());
            for (int k = 0; k < 2; ++k)
              if (!complete[k])
                RINGBENCH_CHECK_MPI(MPI_Test(&requests[k], &complete[k], MPI_STATUS_IGNORE));
            return complete[0] && complete[1];
          },
          timeout_s_, WaitPace::prompt, [&] { return stalled_message(complete[0], complete[1]); });
    } catch (const PeerTimeout&) {
      // Nothing may later land in a buffer the caller has given up on: withdraw the receive;
      // the send is left to MPI (a send cannot reliably be cancelled).
      const std::lock_guard withdrawing(mpi_calls());
      if (!complete[0]) MPI_Cancel(&requests[0]), MPI_Wait(&requests[0], MPI_STATUS_IGNORE);
      if (!complete[1]) MPI_Request_free(&requests[1]);
      throw;
    }
  }
}

std::string MpiTransport::stalled_message(bool received, bool sent) const {
  std::string text;
  if (!received) text = "no K/V block from rank " + std::to_string(prev_);
  if (!sent)
    text += (text.empty() ? "" : ", and ") + std::string("rank ") + std::to_string(next_) +
            " did not take this rank's block";
  return text + " within " + seconds_text(timeout_s_) + " (--timeout): stopped, dead or stuck";
}

}  // namespace ringbench
