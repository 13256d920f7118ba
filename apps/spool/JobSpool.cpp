#include "apps/spool/JobSpool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "apps/spool/SafeFile.hpp"
#include "core/Error.hpp"

namespace ringbench {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxListed = 10000;  // a flooded pending/ must not stall the daemon
constexpr JobState kStates[] = {JobState::pending, JobState::running, JobState::done,
                                JobState::failed};

// A temporary of an atomic write (a few KiB, written at once) untouched this long belongs to a
// writer that stopped, even one on another host whose pid cannot be checked from here.
constexpr double kAbandonedSeconds = 600;

std::time_t mtime_of(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? st.st_mtime : 0;
}

// Seconds since `p` last changed; negative when it is gone.
double age_seconds(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return -1;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return double(now.tv_sec - st.st_mtim.tv_sec) + 1e-9 * double(now.tv_nsec - st.st_mtim.tv_nsec);
}

// A file copied straight into pending/ (not renamed in, as submit does) may still be being
// written; it is claimed once it has not changed for a second.
bool settled(const fs::path& p) {
  return age_seconds(p) >= 1.0;
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_folder(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A job file `ringbench submit` is writing right now (write_file_atomically's temporary, renamed
// in when complete). Older ones are what a submit killed before its rename left behind.
bool submit_in_progress(const fs::path& p) {
  const auto t = parse_temporary_name(p.filename().string());
  return t && valid_job_name(t->target) && age_seconds(p) < kAbandonedSeconds;
}

// Why a name in pending/ that is not a job's was refused.
std::string stray_reason(const std::string& name) {
  const auto t = parse_temporary_name(name);
  if (t && valid_job_name(t->target))
    return "a job renamed in whole (this is the temporary file of a ringbench submit that "
           "stopped before renaming it in)";
  return kJobNameRule;
}

// A name as a report may quote it: printable ASCII, other bytes as \xNN, at most 200 characters.
std::string printable_name(const std::string& name) {
  std::string out;
  for (char ch : name.substr(0, 200)) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x20 && byte < 0x7f && ch != '\\') {
      out += ch;
      continue;
    }
    char escaped[8];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
    out += escaped;
  }
  return name.size() > 200 ? out + "... (" + std::to_string(name.size()) + " bytes)" : out;
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

// The characters of `stem` a job name may hold but '.', at most 40: the readable part of a name.
std::string name_part(const std::string& stem) {
  std::string out;
  for (char ch : stem)
    if (job_name_character(ch) && ch != '.') out += ch;
  return out.substr(0, 40);
}

// A name as `ringbench submit` writes them: <UTC time>-<µs>-<pid>-<random>[-<stem>].ini. Checked
// against the rule the spool lists jobs by, which a name failing would never pass.
std::string fresh_job_name(const std::string& stem) {
  std::random_device random;
  char tag[16];
  std::snprintf(tag, sizeof tag, "%04x", random() & 0xffffu);
  const std::string part = name_part(stem);
  const std::string name = compact_utc_now() + "-" + std::to_string(::getpid()) + "-" + tag +
                           (part.empty() ? "" : "-" + part) + ".ini";
  if (!valid_job_name(name)) throw std::logic_error("job name " + name + " breaks the name rule");
  return name;
}

// The name under which a job whose name already finished is kept in failed/ (still a job name).
std::string duplicate_name(const std::string& name) {
  const std::string suffix = ".duplicate-" + compact_utc_now() + ".ini";
  return name.substr(0, std::min(name.size() - 4, 128 - suffix.size())) + suffix;
}

// Every temporary in `dir` for which `abandoned` holds, removed; one line each for the log.
void remove_temporaries(const fs::path& dir, const fs::path& spool,
                        const std::function<bool(const TemporaryName&, const fs::path&)>& abandoned,
                        std::vector<std::string>& lines) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && found.size() < kMaxListed;
       it.increment(ec)) {
    const auto t = parse_temporary_name(it->path().filename().string());
    if (t && t->pid != ::getpid() && abandoned(*t, it->path())) found.push_back(it->path());
  }
  for (const fs::path& p : found) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::unlink(p.c_str()) != 0) continue;
    lines.push_back(p.lexically_relative(spool).string() + ": left by a write cut off by a kill " +
                    "(its writer is gone); removed, " + std::to_string(st.st_size) + " bytes");
  }
  if (!found.empty()) sync_folder(dir);
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
  if (auto refused = refuse_next_stray()) return refused;
  for (const JobEntry& e : list(JobState::pending)) {
    const fs::path pending = folder(JobState::pending) / e.name;
    // Wait for it rather than take a later job: the order is priority, then age.
    if (!settled(pending)) return std::nullopt;
    if (is_folder(pending)) {
      if (stuck_folders_.count(e.name)) continue;
      return refuse_folder(pending, finished(e.name) ? duplicate_name(e.name) : e.name,
                           "a job file, not a folder");
    }
    if (finished(e.name)) {
      // Never run a name twice: keep the newcomer in failed/ under a name of its own.
      if (move(pending, folder(JobState::failed) / duplicate_name(e.name)))
        sync_folder(folder(JobState::failed));
      continue;
    }
    if (!move(pending, folder(JobState::running) / e.name)) continue;  // taken away meanwhile
    sync_folder(folder(JobState::running));
    return read_claimed(e.name);
  }
  return std::nullopt;
}

ClaimedJob JobSpool::read_claimed(const std::string& name) const {
  ClaimedJob job;
  job.name = name;
  try {
    job.text = read_untrusted_file(folder(JobState::running) / name, kMaxJobBytes);
    job.screened = screen_job(job.text);
  } catch (const ConfigError& err) {
    job.error = err.what();
  }
  return job;
}

// Names in pending/ that are not jobs' (and not a submit's in progress): invisible to `ringbench
// status` and never run, they would stay there for good.
std::vector<std::string> JobSpool::stray_names() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(folder(JobState::pending), ec), end;
       !ec && it != end && names.size() < kMaxListed; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!valid_job_name(name) && !submit_in_progress(it->path())) names.push_back(name);
  }
  return names;
}

// Claims a stray under a fresh job name and refuses it, so it ends in failed/ with its text and
// the reason, like any refused job (and in `ringbench status`).
std::optional<ClaimedJob> JobSpool::refuse_next_stray() {
  for (const std::string& name : stray_names()) {
    const fs::path from = folder(JobState::pending) / name;
    if (!settled(from) || stuck_folders_.count(name)) continue;  // may still be being copied in
    const std::string job = fresh_job_name("badname-" + fs::path(name).stem().string());
    if (is_folder(from)) return refuse_folder(from, job, stray_reason(name));
    if (!move(from, folder(JobState::running) / job)) continue;  // taken away meanwhile
    sync_folder(folder(JobState::running));
    ClaimedJob refused = read_claimed(job);
    refused.error =
        ConfigError("job", printable_name(name), stray_reason(name) + "; refused as job " + job)
            .what();
    return refused;
  }
  return std::nullopt;
}

// A folder is never claimed into running/, where no unlink would remove it once its job is
// filed. What another account put inside is not the daemon's to judge or delete: the folder goes
// whole to failed/ as <job>.dir, beside the job's report.
ClaimedJob JobSpool::refuse_folder(const fs::path& from, const std::string& job,
                                   const std::string& why) {
  std::string where;
  if (!park_folder(from, job, where)) stuck_folders_.insert(from.filename().string());
  ClaimedJob refused;
  refused.name = job;
  refused.error =
      ConfigError("job", printable_name(from.filename().string()), why + "; the folder is " + where)
          .what();
  return refused;
}

// Moves a folder out of the queue; false when it must stay (one that may not be moved, being
// another account's and not writable for us, is removed if empty).
bool JobSpool::park_folder(const fs::path& from, const std::string& job, std::string& where) {
  const fs::path kept = folder(JobState::failed) / (job + ".dir");
  if (::rename(from.c_str(), kept.c_str()) == 0) {
    sync_folder(folder(JobState::failed));
    where = "kept as failed/" + kept.filename().string();
    return true;
  }
  const int why = errno;
  if (::rmdir(from.c_str()) == 0) return where = "removed (it was empty)", true;
  where = "left where it is (cannot move it: " + std::string(std::strerror(why)) + ")";
  return false;
}

// Once its job is filed. A folder there (claimed by an older daemon, or swapped in between the
// look and the claim) leaves as one in pending/ does.
void JobSpool::remove_from_running(const std::string& name) {
  const fs::path running = folder(JobState::running) / name;
  std::string where;
  if (is_folder(running))
    park_folder(running, name, where);
  else
    ::unlink(running.c_str());
  sync_folder(folder(JobState::running));
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
  remove_from_running(name);  // after: a crash between leaves both
  ::unlink(state_file(name).c_str());
}

// The temporaries of atomic writes cut off by a kill. done/, failed/, state/ and status are
// written only by the daemon holding daemon.lock, which is this process now: so the writer of any
// temporary there that is not ours is gone, on whatever host it ran (its pid could not tell:
// alive elsewhere, or reused here). `stop` is written without the lock by `ringbench stop`, from
// anywhere: its temporary is abandoned once old. pending/'s are claim_next's (refused to failed/,
// as they hold a user's job text). Only the spool's own temporaries are touched.
std::vector<std::string> JobSpool::remove_abandoned_temporaries() const {
  std::vector<std::string> lines;
  const auto of_a_job = [](const TemporaryName& t, const fs::path&) {
    return valid_job_name(t.target);
  };
  for (JobState s : {JobState::done, JobState::failed})
    remove_temporaries(folder(s), dir_, of_a_job, lines);
  remove_temporaries(dir_ / "state", dir_, of_a_job, lines);
  remove_temporaries(
      dir_, dir_,
      [](const TemporaryName& t, const fs::path& p) {
        return t.target == "status" || (t.target == "stop" && age_seconds(p) >= kAbandonedSeconds);
      },
      lines);
  return lines;
}

std::vector<std::string> JobSpool::recover_running(int max_crashes) {
  std::vector<std::string> lines = remove_abandoned_temporaries();
  for (const JobEntry& e : list(JobState::running)) {
    const fs::path running = folder(JobState::running) / e.name;
    if (finished(e.name)) {  // finished just before the daemon died
      remove_from_running(e.name);
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
  const std::string name = fresh_job_name(stem);
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
