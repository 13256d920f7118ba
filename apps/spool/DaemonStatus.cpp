#include "apps/spool/DaemonStatus.hpp"

#include <cstdio>
#include <sstream>

#include "apps/spool/SafeFile.hpp"

namespace ringbench {

namespace {

// Values are single lines: anything else would break the format (and the reader).
std::string one_line(std::string v) {
  for (char& ch : v)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return v;
}

}  // namespace

std::string DaemonStatus::to_text() const {
  std::ostringstream out;
  auto put = [&](const char* key, const std::string& value) {
    out << key << " = " << one_line(value) << "\n";
  };
  put("state", state);
  put("pid", pid);
  put("pids", pids);
  put("ranks", ranks);
  put("hosts", hosts);
  put("device", device);
  put("results", results);
  put("started_utc", started_utc);
  put("heartbeat_unix", std::to_string(heartbeat));
  put("job", job);
  put("progress", progress);
  put("jobs_done", std::to_string(jobs_done));
  put("jobs_failed", std::to_string(jobs_failed));
  put("stop_reason", stop_reason);
  return out.str();
}

DaemonStatus DaemonStatus::parse(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 3);
  }
  auto number = [&](const char* key) {
    try {
      return std::stoll(kv[key]);
    } catch (const std::exception&) {
      return 0LL;
    }
  };
  DaemonStatus s;
  s.state = kv["state"];
  s.pid = kv["pid"];
  s.pids = kv["pids"];
  s.ranks = kv["ranks"];
  s.hosts = kv["hosts"];
  s.device = kv["device"];
  s.results = kv["results"];
  s.started_utc = kv["started_utc"];
  s.heartbeat = static_cast<std::time_t>(number("heartbeat_unix"));
  s.job = kv["job"];
  s.progress = kv["progress"];
  s.jobs_done = static_cast<int>(number("jobs_done"));
  s.jobs_failed = static_cast<int>(number("jobs_failed"));
  s.stop_reason = kv["stop_reason"];
  return s;
}

Heartbeat::Heartbeat(std::filesystem::path file, DaemonStatus initial)
    : file_(std::move(file)), status_(std::move(initial)) {
  {
    std::lock_guard lock(mutex_);
    write_locked();
  }
  thread_ = std::thread([this] { beat(); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Heartbeat::update(const std::function<void(DaemonStatus&)>& change) {
  std::lock_guard lock(mutex_);
  change(status_);
  write_locked();
}

void Heartbeat::write_locked() {
  status_.heartbeat = std::time(nullptr);
  try {
    write_file_atomically(file_, status_.to_text());
  } catch (const std::exception& e) {
    // A full disk must not end the benchmark; status shows a stale heartbeat instead.
    std::fprintf(stderr, "ringbench daemon: warning: %s\n", e.what());
  }
}

void Heartbeat::beat() {
  std::unique_lock lock(mutex_);
  while (
      !wake_.wait_for(lock, std::chrono::seconds(kHeartbeatSeconds), [this] { return stopping_; }))
    write_locked();
}

}  // namespace ringbench
