// The daemon's status file (SPOOL/status): who serves the spool, what it is doing, and a heartbeat
// that a thread of rank 0 renews every few seconds even while a long case runs, so `ringbench
// status` can tell a live daemon from one that died. Written atomically, as key = value lines.
#pragma once

#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace ringbench {

struct DaemonStatus {
  std::string state;  // starting, idle, running, stopping, stopped
  std::string pid;    // rank 0's process id
  std::string pids;   // every rank's, in rank order
  std::string ranks;
  std::string hosts;
  std::string device;  // cpu or cuda: what `device = auto` means for the daemon's jobs
  std::string results;
  std::string started_utc;
  std::time_t heartbeat = 0;  // seconds since the epoch
  std::string job;            // the job being run
  std::string progress;       // "case 3/12, ... elapsed, about ... left"
  int jobs_done = 0, jobs_failed = 0;
  std::string stop_reason;  // why it stopped (signal, stop request, idle)

  std::string to_text() const;
  static DaemonStatus parse(const std::string& text);
};

inline constexpr int kHeartbeatSeconds = 2;
// `status` calls a daemon dead when its heartbeat is older than this.
inline constexpr int kHeartbeatStaleSeconds = 30;

// Rank 0's writer of the status file: update() changes it and writes it at once; a thread
// rewrites it every kHeartbeatSeconds with a new heartbeat until destroyed.
class Heartbeat {
 public:
  Heartbeat(std::filesystem::path file, DaemonStatus initial);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  void update(const std::function<void(DaemonStatus&)>& change);

 private:
  void write_locked();
  void beat();

  std::filesystem::path file_;
  DaemonStatus status_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace ringbench
