// Every wait of one rank on another is bounded. A rank that waits longer than the peer timeout
// (the case's --timeout) gives up with a PeerTimeout naming the rank that did not answer; main
// then ends the whole job (MPI_Abort), so a stopped, dead or stuck rank never hangs the others.
//
// MPI calls that have a nonblocking form are started and polled against a deadline (wait_for).
// Calls without one (communicator splits, NCCL's init, MPI_Finalize) run under a Watchdog that
// ends the job from a second thread when they take too long.
#pragma once

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/Error.hpp"

namespace ringbench {

// A rank (or the ranks) this one waited on did not answer in time.
class PeerTimeout : public LibraryError {
 public:
  using LibraryError::LibraryError;
};

// The process-wide bound, in seconds, of one wait on another rank (default 600, as --timeout).
double peer_timeout_s();

// Sets the bound from here on (a command's --timeout, once its options are agreed).
void set_peer_timeout(double seconds);

// Sets the bound for a scope (a case's --timeout while the case runs) and restores it after.
class ScopedPeerTimeout {
 public:
  explicit ScopedPeerTimeout(double seconds);
  ~ScopedPeerTimeout();
  ScopedPeerTimeout(const ScopedPeerTimeout&) = delete;
  ScopedPeerTimeout& operator=(const ScopedPeerTimeout&) = delete;

 private:
  double previous_;
};

// How a wait polls: `prompt` spins first (case boundaries and ring steps end within microseconds
// when every rank is there) and sleeps at most 1 ms; `patient` sleeps up to 20 ms between polls
// (an idle daemon rank, or a rank outside a sub-ring, costs the busy ranks no core).
enum class WaitPace { prompt, patient };

// Polls `done` until it returns true. When `limit_s` passes first, throws PeerTimeout with the
// text `timed_out()` returns (called once, so it can say who is still missing).
void wait_until(const std::function<bool()>& done, double limit_s, WaitPace pace,
                const std::function<std::string()>& timed_out);

// The nonblocking MPI request completes, or PeerTimeout("<what>: ...") after `limit_s`.
void wait_for(MPI_Request& request, double limit_s, WaitPace pace, const std::string& what);

// Guards one blocking call that has no nonblocking form: when the scope is still open after
// `limit_s`, prints "<what> did not complete within N s" on stderr and ends the job (MPI_Abort
// from the watchdog's thread; the blocked thread cannot act any more).
class Watchdog {
 public:
  Watchdog(std::string what, double limit_s);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void watch(double limit_s);

  std::string what_;
  std::mutex mutex_;
  std::condition_variable closed_;
  bool done_ = false;
  std::thread thread_;  // last: starts once every member above exists
};

// "12.5 s" style text of a duration in seconds, for messages.
std::string seconds_text(double seconds);

}  // namespace ringbench
