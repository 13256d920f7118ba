// `ringbench status --spool DIR`: the daemon's state and heartbeat age, and the jobs in each
// folder with their times; `ringbench stop --spool DIR`: asks the daemon to exit after its
// current job (a file in the spool, which only those who may write the spool folder can make).
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "apps/Commands.hpp"
#include "apps/JobReport.hpp"
#include "apps/spool/DaemonStatus.hpp"
#include "apps/spool/JobSpool.hpp"
#include "apps/spool/SafeFile.hpp"
#include "core/Error.hpp"

namespace ringbench {

namespace {

namespace po = boost::program_options;

constexpr std::size_t kMaxReportBytes = 4 << 20;

std::string spool_dir(const Args& args, const char* command) {
  po::options_description d(std::string(command) + " options");
  d.add_options()("spool", po::value<std::string>(), "the daemon's spool folder");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).run(), vm);
  } catch (const po::error& e) {
    throw ConfigError("command line", "", e.what());
  }
  if (!vm.count("spool")) throw ConfigError("spool", "", "the daemon's spool folder (--spool DIR)");
  return vm["spool"].as<std::string>();
}

std::optional<DaemonStatus> read_status(const JobSpool& spool) {
  try {
    return DaemonStatus::parse(read_untrusted_file(spool.status_file(), 64 * 1024));
  } catch (const ConfigError&) {
    return std::nullopt;
  }
}

bool alive(const DaemonStatus& s) {
  return s.state != "stopped" && std::time(nullptr) - s.heartbeat <= kHeartbeatStaleSeconds;
}

void print_daemon(const std::optional<DaemonStatus>& status) {
  if (!status) {
    std::printf("daemon: none has served this spool yet\n");
    return;
  }
  const DaemonStatus& s = *status;
  const long age = static_cast<long>(std::time(nullptr) - s.heartbeat);
  if (s.state == "stopped") {
    std::printf("daemon: stopped at %s (%s); pid %s, %s rank(s) on %s\n",
                utc_text(s.heartbeat).c_str(), s.stop_reason.c_str(), s.pid.c_str(),
                s.ranks.c_str(), s.hosts.c_str());
  } else if (!alive(s)) {
    std::printf("daemon: not running: no heartbeat for %ld s (it was %s; pid %s on %s)\n", age,
                s.state.c_str(), s.pid.c_str(), s.hosts.c_str());
  } else {
    std::printf("daemon: %s, pid %s, %s rank(s) on %s (%s), heartbeat %ld s ago, started %s\n",
                s.state.c_str(), s.pid.c_str(), s.ranks.c_str(), s.hosts.c_str(), s.device.c_str(),
                age, s.started_utc.c_str());
  }
  std::printf("        results %s; jobs done %d, failed %d\n", s.results.c_str(), s.jobs_done,
              s.jobs_failed);
  if (alive(s) && !s.job.empty())
    std::printf("        job %s%s%s\n", s.job.c_str(), s.progress.empty() ? "" : ": ",
                s.progress.c_str());
}

void print_jobs(const JobSpool& spool, JobState state) {
  const auto jobs = spool.list(state);
  std::printf("%s (%zu):\n", std::string(to_string(state)).c_str(), jobs.size());
  for (const auto& j : jobs) {
    std::string detail;
    if (state == JobState::pending)
      detail = "priority " + std::to_string(j.priority) + ", submitted " + utc_text(j.time);
    if (state == JobState::running) detail = "submitted " + utc_text(j.time);
    if (state == JobState::done || state == JobState::failed) {
      std::map<std::string, std::string> report;
      try {
        report = read_report(read_untrusted_file(spool.folder(state) / j.name, kMaxReportBytes));
      } catch (const ConfigError&) {
      }
      detail =
          "finished " + (report.count("finished_utc") ? report["finished_utc"] : utc_text(j.time));
      if (report.count("runs")) detail += ", runs " + report["runs"];
      if (report.count("error")) detail += ", error: " + report["error"];
    }
    std::printf("  %s  %s\n", j.name.c_str(), detail.c_str());
  }
}

}  // namespace

int status_command(const Args& args, const MpiRuntime& rt) {
  if (!rt.is_root()) return 0;
  if (wants_help(args)) {
    std::cout << "usage: ringbench status --spool DIR\n";
    return 0;
  }
  const JobSpool spool(spool_dir(args, "status"));
  spool.require_layout();
  print_daemon(read_status(spool));
  if (spool.stop_requested()) std::printf("        stop requested: exits after its current job\n");
  for (JobState s : {JobState::pending, JobState::running, JobState::done, JobState::failed})
    print_jobs(spool, s);
  return 0;
}

int stop_command(const Args& args, const MpiRuntime& rt) {
  if (!rt.is_root()) return 0;
  if (wants_help(args)) {
    std::cout << "usage: ringbench stop --spool DIR   (the daemon exits after its current job)\n";
    return 0;
  }
  const JobSpool spool(spool_dir(args, "stop"));
  spool.require_layout();
  const char* user = std::getenv("USER");
  spool.request_stop(std::string(user ? user : "?") + " (pid " + std::to_string(::getpid()) + ")");
  const auto status = read_status(spool);
  if (status && alive(*status))
    std::printf("stop requested: the daemon (pid %s) exits after its current job\n",
                status->pid.c_str());
  else
    std::printf("stop requested; no daemon is running now (a daemon starting later ignores it)\n");
  return 0;
}

}  // namespace ringbench
