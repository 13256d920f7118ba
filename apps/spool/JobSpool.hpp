// The spool folder a daemon serves, and every move of a job file through it:
//
//   pending/      job files waiting; anyone allowed to submit adds files here
//   running/      the job being run: claimed by rename, which is atomic, so never claimed twice
//   done/         finished jobs: the job text plus the daemon's report (run ids, summaries)
//   failed/       refused or failed jobs: the job text plus the error
//   state/        the daemon's bookkeeping per job (starts, crashes); not for users
//   status        the daemon's heartbeat (DaemonStatus), rewritten atomically
//   stop          present: a request to exit after the current job (ringbench stop)
//   daemon.lock   locked by the daemon serving the spool, so only one does
//
// Every change is one rename or one atomic write, ordered so a crash at any moment leaves each
// job in exactly one of pending/, running/, done/ or failed/, or in running/ plus done/ or
// failed/ (finished, not yet removed), which recover_running() resolves.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apps/spool/JobFile.hpp"

namespace ringbench {

enum class JobState { pending, running, done, failed };
std::string_view to_string(JobState s);

struct JobEntry {
  std::string name;      // file name in its folder, e.g. 20261121T101500-123456-4242-scaling.ini
  std::time_t time = 0;  // submitted (pending, running) or finished (done, failed)
  int priority = 0;      // pending jobs
};

struct ClaimedJob {
  std::string name;
  std::string text;      // the file as submitted
  std::string error;     // not empty: the file is unusable (refused before any rank sees it)
  ScreenedJob screened;  // when usable
};

struct JobAttempts {
  int starts = 0;   // times a daemon began running it
  int crashes = 0;  // times it was found in running/ after a daemon died
};

class JobSpool {
 public:
  explicit JobSpool(std::filesystem::path dir);

  // Makes the folders that are missing (the daemon; the permissions are the user's to set).
  void create() const;
  // Throws ConfigError (key "spool") unless the folders exist (submit, status, stop).
  void require_layout() const;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path folder(JobState s) const;
  std::filesystem::path status_file() const { return dir_ / "status"; }
  std::filesystem::path lock_file() const { return dir_ / "daemon.lock"; }

  // Jobs in a folder: pending ones in the order they will run (higher priority first, then
  // oldest first), the others oldest first. Files with invalid names are not jobs.
  std::vector<JobEntry> list(JobState s) const;

  // Moves the next pending job into running/ and reads it. A file changed within the last second
  // is left to settle (it may still be being copied in): nothing is claimed until it has. A job
  // whose name already finished is moved to failed/ under a new name and the next one is tried.
  // Refused at once, with `error` set (the caller files them with finish(), as any refusal):
  //  - a file under a name submit never writes (!valid_job_name), claimed under a fresh name;
  //    submit's own temporaries (".<job>.tmp.<pid>") are left alone for 10 minutes, then are
  //    the leftovers of a submit that stopped, and refused the same way;
  //  - a folder, which is never moved into running/ (see refuse_folder).
  std::optional<ClaimedJob> claim_next();
  void put_back(const std::string& name);  // running/ -> pending/
  // Writes done/NAME or failed/NAME (the job text, then `report`) and removes running/NAME.
  void finish(const std::string& name, bool ok, const std::string& text, const std::string& report);

  // At start-up, holding the SpoolLock: removes the temporaries of atomic writes cut off by a kill
  // (remove_abandoned_temporaries); jobs left in running/ by a daemon that died go back to
  // pending/, or to failed/ once they have crashed `max_crashes` times. Returns one line per file
  // or job about what was done.
  std::vector<std::string> recover_running(int max_crashes);

  JobAttempts attempts(const std::string& name) const;
  void record_start(const std::string& name);

  bool stop_requested() const;
  void request_stop(const std::string& by) const;
  void clear_stop() const;

  // Writes `text` as a new pending job named after `stem` and the time; returns the name.
  std::string submit(const std::string& text, const std::string& stem) const;

 private:
  void store_attempts(const std::string& name, const JobAttempts& a) const;
  std::filesystem::path state_file(const std::string& name) const;
  bool finished(const std::string& name) const;
  ClaimedJob read_claimed(const std::string& name) const;
  std::vector<std::string> stray_names() const;
  std::optional<ClaimedJob> refuse_next_stray();
  ClaimedJob refuse_folder(const std::filesystem::path& from, const std::string& job,
                           const std::string& why);
  bool park_folder(const std::filesystem::path& from, const std::string& job, std::string& where);
  void remove_from_running(const std::string& name);
  std::vector<std::string> remove_abandoned_temporaries() const;

  std::filesystem::path dir_;
  // Folders in pending/ refused already that this daemon may neither move nor remove (another
  // account's, not writable for it): refused once, then left alone.
  std::set<std::string> stuck_folders_;
};

// Held by the daemon for its whole life: a second daemon on the same spool is refused (it would
// take the first one's running job for a crashed one). Released by the kernel if the process dies.
class SpoolLock {
 public:
  explicit SpoolLock(const JobSpool& spool);  // throws ConfigError (key "spool") when held
  ~SpoolLock();
  SpoolLock(const SpoolLock&) = delete;
  SpoolLock& operator=(const SpoolLock&) = delete;

 private:
  int fd_ = -1;
};

// "2026-11-21T10:15:00Z"
std::string utc_text(std::time_t t);

}  // namespace ringbench
