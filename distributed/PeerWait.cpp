#include "distributed/PeerWait.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "distributed/MpiCheck.hpp"

namespace ringbench {

namespace {

std::atomic<double> g_peer_timeout_s{600.0};

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(std::max(0.0, seconds)));
}

}  // namespace

double peer_timeout_s() {
  return g_peer_timeout_s.load();
}

void set_peer_timeout(double seconds) {
  g_peer_timeout_s.store(seconds);
}

ScopedPeerTimeout::ScopedPeerTimeout(double seconds)
    : previous_(g_peer_timeout_s.exchange(seconds)) {}

ScopedPeerTimeout::~ScopedPeerTimeout() {
  g_peer_timeout_s.store(previous_);
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

void wait_until(const std::function<bool()>& done, double limit_s, WaitPace pace,
                const std::function<std::string()>& timed_out) {
  const auto deadline = deadline_after(limit_s);
  const auto longest =
      pace == WaitPace::prompt ? std::chrono::microseconds(1000) : std::chrono::microseconds(20000);
  auto pause = std::chrono::microseconds(20);
  for (int polls = 0;; ++polls) {
    if (done()) return;
    if (Clock::now() > deadline) throw PeerTimeout(timed_out());
    if (pace == WaitPace::prompt && polls < 2000) continue;  // most waits end while spinning
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, longest);
  }
}

void wait_for(MPI_Request& request, double limit_s, WaitPace pace, const std::string& what) {
  wait_until(
      [&request] {
        int complete = 0;
        RINGBENCH_CHECK_MPI(MPI_Test(&request, &complete, MPI_STATUS_IGNORE));
        return complete != 0;
      },
      limit_s, pace,
      [&] { return what + ": no answer within " + seconds_text(limit_s) + " (--timeout)"; });
}

Watchdog::Watchdog(std::string what, double limit_s)
    : what_(std::move(what)), thread_([this, limit_s] { watch(limit_s); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  closed_.notify_all();
  thread_.join();
}

void Watchdog::watch(double limit_s) {
  std::unique_lock lock(mutex_);
  if (closed_.wait_until(lock, deadline_after(limit_s), [this] { return done_; })) return;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::fprintf(stderr,
               "ringbench: rank %d (%s): error: %s did not complete within %s (--timeout): a rank "
               "is stopped, dead or stuck; ending the job\n",
               rank, host, what_.c_str(), seconds_text(limit_s).c_str());
  std::fflush(stderr);
  // The blocked thread holds MPI; MPI_Abort from here is the launcher's way to end every rank.
  // Should it not return control to the launcher in time, leave anyway.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::_Exit(1);
  }).detach();
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace ringbench
