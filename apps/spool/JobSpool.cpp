#include "apps/spool/JobSpool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

#include "apps/spool/SafeFile.hpp"
#include "core/Error.hpp"

namespace ringbench {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxListed = 10000;  // a flooded pending/ must not stall the daemon
constexpr JobState kStates[] = {JobState::pending, JobState::running, JobState::done,
                                JobState::failed};

std::time_t mtime_of(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? st.st_mtime : 0;
}

// A file copied straight into pending/ (not renamed in, as submit does) may still be being
// written; it is claimed once it has not changed for a second.
bool settled(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return false;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const double age =
      double(now.tv_sec - st.st_mtim.tv_sec) + 1e-9 * double(now.tv_nsec - st.st_mtim.tv_nsec);
  return age >= 1.0;
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// rename(2) that reports "it was gone" (someone else moved or removed it) as false.
bool move(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw std::runtime_error("cannot move " + from.string() + " to " + to.string() + ": " +
                           std::strerror(errno));
}

std::string compact_utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const long usec = static_cast<long>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[48];
  std::snprintf(text, sizeof text, "%04d%02d%02dT%02d%02d%02d-%06ld", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
  return text;
}

// Letters, digits, '-' and '_' of `stem`, at most 40: the readable part of a job name.
std::string name_part(const std::string& stem) {
  std::string out;
  for (char ch : stem)
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') out += ch;
  return out.substr(0, 40);
}

int pending_priority(const fs::path& file) {
  try {
    return screen_job(read_untrusted_file(file, kMaxJobBytes)).priority;
  } catch (const std::exception&) {
    return 0;  // refused with its reason when claimed
  }
}

}  // namespace

std::string_view to_string(JobState s) {
  switch (s) {
    case JobState::pending:
      return "pending";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::failed:
      return "failed";
  }
  return "?";
}

std::string utc_text(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

JobSpool::JobSpool(fs::path dir) : dir_(std::move(dir)) {}

fs::path JobSpool::folder(JobState s) const {
  return dir_ / std::string(to_string(s));
}

fs::path JobSpool::state_file(const std::string& name) const {
  return dir_ / "state" / name;
}

void JobSpool::create() const {
  fs::create_directories(dir_);
  for (JobState s : kStates) fs::create_directories(folder(s));
  fs::create_directories(dir_ / "state");
}

void JobSpool::require_layout() const {
  for (JobState s : kStates)
    if (!fs::is_directory(folder(s)))
      throw ConfigError(
          "spool", dir_.string(),
          "a spool folder set up by ringbench daemon (" + folder(s).string() + " is missing)");
}

std::vector<JobEntry> JobSpool::list(JobState s) const {
  std::vector<JobEntry> jobs;
  std::error_code ec;
  for (fs::directory_iterator it(folder(s), ec), end; !ec && it != end && jobs.size() < kMaxListed;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!valid_job_name(name)) continue;
    JobEntry e{name, mtime_of(it->path()), 0};
    if (s == JobState::pending) e.priority = pending_priority(it->path());
    jobs.push_back(e);
  }
  std::sort(jobs.begin(), jobs.end(), [](const JobEntry& a, const JobEntry& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.time != b.time) return a.time < b.time;
    return a.name < b.name;
  });
  return jobs;
}

bool JobSpool::finished(const std::string& name) const {
  return exists_no_follow(folder(JobState::done) / name) ||
         exists_no_follow(folder(JobState::failed) / name);
}

std::optional<ClaimedJob> JobSpool::claim_next() {
  for (const JobEntry& e : list(JobState::pending)) {
    const fs::path running = folder(JobState::running) / e.name;
    // Wait for it rather than take a later job: the order is priority, then age.
    if (!settled(folder(JobState::pending) / e.name)) return std::nullopt;
    if (finished(e.name)) {
      // Never run a name twice: keep the newcomer in failed/ under a name of its own.
      const std::string renamed =
          e.name.substr(0, e.name.size() - 4) + ".duplicate-" + compact_utc_now() + ".ini";
      if (move(folder(JobState::pending) / e.name, folder(JobState::failed) / renamed))
        sync_folder(folder(JobState::failed));
      continue;
    }
    if (!move(folder(JobState::pending) / e.name, running)) continue;  // taken away meanwhile
    sync_folder(folder(JobState::running));
    ClaimedJob job;
    job.name = e.name;
    try {
      job.text = read_untrusted_file(running, kMaxJobBytes);
      job.screened = screen_job(job.text);
    } catch (const ConfigError& err) {
      job.error = err.what();
    }
    return job;
  }
  return std::nullopt;
}

void JobSpool::put_back(const std::string& name) {
  move(folder(JobState::running) / name, folder(JobState::pending) / name);
  sync_folder(folder(JobState::pending));
}

void JobSpool::finish(const std::string& name, bool ok, const std::string& text,
                      const std::string& report) {
  std::string body = text;
  if (!body.empty() && body.back() != '\n') body += '\n';
  write_file_atomically(folder(ok ? JobState::done : JobState::failed) / name, body + report);
  ::unlink((folder(JobState::running) / name).c_str());  // after: a crash between leaves both
  sync_folder(folder(JobState::running));
  ::unlink(state_file(name).c_str());
}

std::vector<std::string> JobSpool::recover_running(int max_crashes) {
  std::vector<std::string> lines;
  for (const JobEntry& e : list(JobState::running)) {
    const fs::path running = folder(JobState::running) / e.name;
    if (finished(e.name)) {  // finished just before the daemon died
      ::unlink(running.c_str());
      lines.push_back(e.name + ": had finished; removed from running/");
      continue;
    }
    JobAttempts a = attempts(e.name);
    ++a.crashes;
    store_attempts(e.name, a);
    if (a.crashes < max_crashes) {
      put_back(e.name);
      lines.push_back(e.name + ": left in running/ by a daemon that stopped; back in pending/");
      continue;
    }
    std::string text;
    try {
      text = read_untrusted_file(running, kMaxJobBytes);
    } catch (const ConfigError&) {
    }
    finish(e.name, false, text,
           "# ---- ringbench daemon ----\n# status = failed\n# finished_utc = " +
               utc_text(std::time(nullptr)) + "\n# error = the daemon stopped " +
               std::to_string(a.crashes) +
               " times while running this job (crash or kill); not retried\n");
    lines.push_back(e.name + ": crashed " + std::to_string(a.crashes) + " times; moved to failed/");
  }
  return lines;
}

JobAttempts JobSpool::attempts(const std::string& name) const {
  JobAttempts a;
  try {
    std::istringstream in(read_untrusted_file(state_file(name), 1024));
    std::string key, eq;
    for (int value = 0; in >> key >> eq >> value;) {
      if (key == "starts") a.starts = value;
      if (key == "crashes") a.crashes = value;
    }
  } catch (const ConfigError&) {  // no record yet
  }
  return a;
}

void JobSpool::store_attempts(const std::string& name, const JobAttempts& a) const {
  write_file_atomically(state_file(name), "starts = " + std::to_string(a.starts) +
                                              "\ncrashes = " + std::to_string(a.crashes) + "\n");
}

void JobSpool::record_start(const std::string& name) {
  JobAttempts a = attempts(name);
  ++a.starts;
  store_attempts(name, a);
}

bool JobSpool::stop_requested() const {
  return exists_no_follow(dir_ / "stop");
}

void JobSpool::request_stop(const std::string& by) const {
  write_file_atomically(dir_ / "stop",
                        "requested_utc = " + utc_text(std::time(nullptr)) + "\nby = " + by + "\n");
}

void JobSpool::clear_stop() const {
  ::unlink((dir_ / "stop").c_str());
}

std::string JobSpool::submit(const std::string& text, const std::string& stem) const {
  std::random_device random;
  char tag[16];
  std::snprintf(tag, sizeof tag, "%04x", random() & 0xffffu);
  const std::string part = name_part(stem);
  const std::string name = compact_utc_now() + "-" + std::to_string(::getpid()) + "-" + tag +
                           (part.empty() ? "" : "-" + part) + ".ini";
  write_file_atomically(folder(JobState::pending) / name, text);
  return name;
}

SpoolLock::SpoolLock(const JobSpool& spool) {
  fd_ = ::open(spool.lock_file().c_str(), O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw ConfigError(
        "spool", spool.dir().string(),
        "a spool no other daemon is serving (" + spool.lock_file().string() + " is locked)");
  }
}

SpoolLock::~SpoolLock() {
  ::close(fd_);
}

}  // namespace ringbench
