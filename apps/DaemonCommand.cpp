// `ringbench daemon --spool DIR`: all ranks start once (communicators and, on GPUs, CUDA contexts
// and NCCL communicators are made once and kept), then run jobs from the spool until stopped.
//
// Protocol, on every rank, in rounds of about a second:
//   1. Rank 0 watches the spool (pending jobs, the stop file, the idle limit, its stop signal);
//      the others wait in a patient (sleeping) collective, bounded like every wait. Rank 0 claims a
//      job by renaming it into running/.
//   2. One collective (max over ranks) combines rank 0's decision with every rank's stop signal:
//      idle, run a job, or stop. Stop wins, and a job claimed meanwhile is put back.
//   3. For a job: rank 0 broadcasts its screened text; every rank parses and validates it with
//      the same rules as a command line (a refusal anywhere fails the job on every rank); the
//      cases run through run_sweep, which appends each run to the results file, tagged with the
//      job, and checks for stop signals at every case boundary. Rank 0 then moves the job file to
//      done/ or failed/ with its report, or, when stopped between cases, back to pending/: the next
//      daemon resumes it after the cases the results file already holds.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ConfigAgreement.hpp"
#include "apps/JobReport.hpp"
#include "apps/ResultTable.hpp"
#include "apps/StopSignals.hpp"
#include "apps/SweepRunner.hpp"
#include "apps/spool/DaemonStatus.hpp"
#include "apps/spool/JobSpool.hpp"
#include "core/Error.hpp"
#include "core/ResultsFile.hpp"
#include "core/Version.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/PeerWait.hpp"
#include "ring/Provenance.hpp"

namespace ringbench {

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

struct DaemonOptions {
  fs::path spool;
  fs::path output;           // default SPOOL/results.h5
  double idle_exit_min = 0;  // 0: never
  double poll_s = 0.5;
  int max_crashes = 3;
};

po::options_description daemon_options_description() {
  po::options_description d("Daemon options");
  d.add_options()("spool", po::value<std::string>(),
                  "spool folder (made if missing): pending/ running/ done/ failed/")(
      "output", po::value<std::string>(),
      "HDF5 results file every job appends to [SPOOL/results.h5]")(
      "idle-exit", po::value<std::string>(),
      "exit after this many minutes without a job (fractions allowed) [0 = never]")(
      "poll", po::value<std::string>(), "seconds between looks at pending/ [0.5]")(
      "max-crashes", po::value<std::string>(),
      "a job found in running/ after this many daemon deaths goes to failed/ [3]");
  return d;
}

// Numbers are read as text and parsed here, so a refusal names the key and the text given.
DaemonOptions parse_daemon_options(const Args& args) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(daemon_options_description()).run(), vm);
  } catch (const po::error& e) {
    throw_as_config_error(e);
  }
  DaemonOptions o;
  if (!vm.count("spool"))
    throw ConfigError("spool", "", "a folder for the job queue (--spool DIR)");
  o.spool = fs::absolute(vm["spool"].as<std::string>());
  o.output =
      vm.count("output") ? fs::absolute(vm["output"].as<std::string>()) : o.spool / "results.h5";
  auto given = [&vm](const char* key) { return vm[key].as<std::string>(); };
  if (vm.count("idle-exit")) {
    const char* allowed = "minutes >= 0 (0 = never)";
    o.idle_exit_min = parse_number("idle-exit", given("idle-exit"), allowed);
    if (!(o.idle_exit_min >= 0)) throw ConfigError("idle-exit", given("idle-exit"), allowed);
  }
  if (vm.count("poll")) {
    const char* allowed = "seconds in (0, 60]";
    o.poll_s = parse_number("poll", given("poll"), allowed);
    if (!(o.poll_s > 0 && o.poll_s <= 60)) throw ConfigError("poll", given("poll"), allowed);
  }
  if (vm.count("max-crashes")) {
    const char* allowed = "an integer from 1 to 1000000";
    const std::int64_t crashes = parse_integer("max-crashes", given("max-crashes"), allowed);
    if (crashes < 1 || crashes > 1000000)
      throw ConfigError("max-crashes", given("max-crashes"), allowed);
    o.max_crashes = static_cast<int>(crashes);
  }
  return o;
}

// What the round decided, ordered so that the maximum over ranks is the decision: stop wins.
enum Decision : int { kIdle = 0, kRunJob = 1, kStop = 2 };

std::string minutes_text(double m) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", m);
  return text;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGTERM:
      return "signal SIGTERM";
    case SIGINT:
      return "signal SIGINT";
    case SIGUSR1:
      return "signal SIGUSR1";
  }
  return "signal " + std::to_string(sig);
}

// Rank 0's log and status while a job's cases run.
class JobObserver final : public SweepObserver {
 public:
  JobObserver(Heartbeat& heartbeat, const CaseOptions& options, std::string job)
      : heartbeat_(heartbeat), options_(options), job_(std::move(job)) {}

  void case_starting(const SweepClock& clock, std::size_t index, const BenchmarkCase& c,
                     const CasePlacement& p) override {
    const std::string line = clock.line(index);
    std::printf("# job %s: %s: %s\n", job_.c_str(), line.c_str(), describe_case(c, p).c_str());
    std::fflush(stdout);
    heartbeat_.update([&](DaemonStatus& s) { s.progress = line; });
  }
  void case_done(const SweepClock&, const CaseResult& r) override {
    if (r.refused)
      std::printf(
          "# job %s: skipped %s: %s\n", job_.c_str(),
          describe_case(options_.cases.at(r.index), options_.placements.at(r.index)).c_str(),
          r.reason.c_str());
    else
      print_table_row(stdout, r.record);
    std::fflush(stdout);
  }

 private:
  Heartbeat& heartbeat_;
  const CaseOptions& options_;
  std::string job_;
};

class Daemon {
 public:
  Daemon(const MpiRuntime& rt, DaemonOptions options)
      : rt_(rt), options_(std::move(options)), spool_(options_.spool), pool_(rt) {}

  int serve() {
    start();  // its refusals reach every rank: all exit with code 2
    try {
      std::string reason;
      while (reason.empty()) reason = round();
      finish(reason);
    } catch (const ConfigError& e) {
      // Refusals inside a job are handled there, together; one escaping now is one rank's
      // failure, and must end the whole job (main aborts it) rather than leave the others waiting.
      throw std::runtime_error(e.what());
    }
    return 0;
  }

 private:
  bool root() const { return rt_.is_root(); }

  // Rank 0 takes the spool (refusals reach every rank, which all exit with code 2).
  void start() {
    std::optional<ConfigError> refusal;
    if (root()) {
      try {
        // A results file elsewhere is checked before the spool is touched: a refused start
        // leaves no folders or lock behind. The default one in the spool needs the spool first.
        const bool in_spool = options_.output.parent_path() == options_.spool;
        if (!in_spool) check_results_file_usable(options_.output);
        spool_.create();
        lock_ = std::make_unique<SpoolLock>(spool_);
        if (in_spool) check_results_file_usable(options_.output);
        spool_.clear_stop();  // a stop request is for the daemon that was running then
      } catch (const ConfigError& e) {
        refusal = e;
      } catch (const std::exception& e) {
        refusal = ConfigError("spool", options_.spool.string(),
                              std::string("a usable folder: ") + e.what());
      }
    }
    if (auto first = first_config_error(rt_, refusal)) throw *first;

    std::string pids, hosts;
    for (const auto& p : gather(rt_.world(), std::to_string(::getpid())))
      pids += (pids.empty() ? "" : " ") + p;
    for (const auto& h : gather(rt_.world(), rt_.hostname()))
      if (hosts.find(h) == std::string::npos) hosts += (hosts.empty() ? "" : ",") + h;
    if (!root()) return;

    DaemonStatus s;
    s.state = "idle";
    s.pid = std::to_string(::getpid());
    s.pids = pids;
    s.ranks = std::to_string(rt_.size());
    s.hosts = hosts;
    s.device = cuda_available() ? "cuda" : "cpu";
    s.results = options_.output.string();
    s.started_utc = utc_now_iso8601();
    heartbeat_ = std::make_unique<Heartbeat>(spool_.status_file(), s);
    std::printf("# ringbench %s (%s) daemon: spool %s, %d rank(s) on %s, results %s\n",
                kToolVersion, kGitCommit, options_.spool.c_str(), rt_.size(), hosts.c_str(),
                options_.output.c_str());
    for (const auto& line : spool_.recover_running(options_.max_crashes))
      std::printf("# recovered %s\n", line.c_str());
    print_table_header(stdout);
    std::fflush(stdout);
    idle_since_ = Clock::now();
  }

  // One round; returns why the daemon stops ("" to go on).
  std::string round() {
    std::optional<ClaimedJob> job;
    std::string reason;
    Decision mine = kIdle;
    if (root())
      mine = watch_spool(job, reason);
    else if (stop_signal())
      mine = kStop;
    const int decision = max_all(rt_.world(), mine, WaitPace::patient);
    if (decision == kStop) {
      if (job) spool_.put_back(job->name);  // claimed while another rank was told to stop
      return reason.empty() ? "a stop signal on another rank" : reason;
    }
    if (decision == kRunJob) run_job(job);
    return "";
  }

  // Rank 0: waits up to about a second for something to do.
  Decision watch_spool(std::optional<ClaimedJob>& job, std::string& reason) {
    const auto round_end = Clock::now() + std::chrono::seconds(1);
    do {
      if (stop_signal()) return reason = signal_name(stop_signal()), kStop;
      if (spool_.stop_requested()) return reason = "stop requested (ringbench stop)", kStop;
      const double idle_min =
          std::chrono::duration<double>(Clock::now() - idle_since_).count() / 60;
      if (options_.idle_exit_min > 0 && idle_min >= options_.idle_exit_min)
        return reason = "idle for " + minutes_text(options_.idle_exit_min) + " min (--idle-exit)",
               kStop;
      job = spool_.claim_next();
      if (job && !job->error.empty()) {  // unreadable or bad keys: refused before any rank sees it
        fail_job(job->name, job->text, job_error_report(job->error), job->error);
        job.reset();
        continue;
      }
      if (job) return kRunJob;
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_s));
    } while (Clock::now() < round_end);
    return kIdle;
  }

  // Every rank: one job, from rank 0's claimed file.
  void run_job(const std::optional<ClaimedJob>& claimed) {
    std::string name = root() ? claimed->name : "", text = root() ? claimed->screened.options : "";
    broadcast(rt_.world(), name);
    broadcast(rt_.world(), text);
    std::optional<ConfigError> refusal;
    CaseOptions options;
    try {
      options = parse_job_options(text, ParseTarget{rt_.size(), std::nullopt, kMaxJobCases});
      if (options.cases.size() > kMaxJobCases)  // a scaling series adds cases after the check
        throw ConfigError("job", std::to_string(options.cases.size()) + " cases",
                          "at most " + std::to_string(kMaxJobCases) + " cases");
    } catch (const ConfigError& e) {
      refusal = e;
    } catch (const std::exception& e) {  // whatever a job says must not end the daemon
      refusal = ConfigError("job", "(unparsable)", std::string("a valid job: ") + e.what());
    }
    refusal = first_config_error(rt_, refusal);  // e.g. device auto resolving differently
    if (!refusal) {
      try {
        require_same_config_everywhere(rt_, options);  // throws on every rank together
      } catch (const ConfigError& e) {
        refusal = e;
      }
    }
    if (refusal) {
      if (root()) fail_job(name, claimed->text, job_error_report(refusal->what()), refusal->what());
      return;
    }
    run_cases(name, options, root() ? &*claimed : nullptr);
  }

  void run_cases(const std::string& name, const CaseOptions& options, const ClaimedJob* claimed) {
    SweepSettings settings;
    settings.output = options_.output.string();
    settings.tags = {{"daemon_job", name}};
    settings.stop_requested = [] { return stop_signal() != 0; };
    std::unique_ptr<JobObserver> observer;
    SweepObserver silent;
    if (root()) {
      if (spool_.attempts(name).starts > 0)
        settings.earlier = earlier_results(options_.output, name, options.cases.size());
      spool_.record_start(name);
      heartbeat_->update([&](DaemonStatus& s) {
        s.state = "running";
        s.job = name;
        s.progress = "";
      });
      std::printf(
          "# job %s: %zu case(s)%s\n", name.c_str(), options.cases.size(),
          settings.earlier.empty()
              ? ""
              : (", resumed after " + std::to_string(settings.earlier.size()) + " done earlier")
                    .c_str());
      observer = std::make_unique<JobObserver>(*heartbeat_, options, name);
    }
    SweepOutcome outcome;
    try {
      outcome = run_sweep(options, pool_, settings, observer ? *observer : silent);
    } catch (const std::exception& e) {
      // A failure inside a case ends the whole MPI job (main aborts it, as for a single run, since
      // other ranks may be stuck in communication); rank 0 first files the job as failed.
      if (root())
        fail_job(name, claimed->text, job_error_report(std::string("while running: ") + e.what()),
                 e.what());
      throw;
    }
    if (!root()) return;
    finish_job(name, *claimed, options, outcome);
  }

  // Rank 0: the job's file goes to done/, failed/, or (interrupted) back to pending/.
  void finish_job(const std::string& name, const ClaimedJob& claimed, const CaseOptions& options,
                  const SweepOutcome& outcome) {
    idle_since_ = Clock::now();
    if (outcome.interrupted) {
      spool_.put_back(name);
      std::printf("# job %s: interrupted after %zu of %zu case(s); back in pending/\n",
                  name.c_str(), outcome.results.size(), options.cases.size());
      heartbeat_->update([](DaemonStatus& s) { s.job = s.progress = ""; });
      return;
    }
    std::string error;
    if (outcome.any_check_failed)
      error = "a check failed (see the cases below)";
    else if (outcome.ran == 0)
      error = "no case could run: " + outcome.results.front().reason;
    const std::string report =
        job_report(error.empty() ? "done" : "failed", options, outcome, options_.output, error);
    if (!error.empty()) return fail_job(name, claimed.text, report, error);
    spool_.finish(name, true, claimed.text, report);
    std::printf("# job %s: done\n", name.c_str());
    std::fflush(stdout);
    heartbeat_->update([](DaemonStatus& s) {
      ++s.jobs_done;
      s.state = "idle";
      s.job = s.progress = "";
    });
  }

  void fail_job(const std::string& name, const std::string& text, const std::string& report,
                const std::string& error) {
    idle_since_ = Clock::now();
    spool_.finish(name, false, text, report);
    std::printf("# job %s: failed: %s\n", name.c_str(), error.c_str());
    std::fflush(stdout);
    heartbeat_->update([](DaemonStatus& s) {
      ++s.jobs_failed;
      s.state = "idle";
      s.job = s.progress = "";
    });
  }

  void finish(const std::string& reason) {
    if (!root()) return;
    spool_.clear_stop();
    heartbeat_->update([&](DaemonStatus& s) {
      s.state = "stopped";
      s.stop_reason = reason;
      s.job = s.progress = "";
    });
    heartbeat_.reset();
    std::printf("# daemon stopped: %s\n", reason.c_str());
    std::fflush(stdout);
  }

  const MpiRuntime& rt_;
  DaemonOptions options_;
  JobSpool spool_;
  RingPool pool_;
  std::unique_ptr<SpoolLock> lock_;
  std::unique_ptr<Heartbeat> heartbeat_;
  Clock::time_point idle_since_ = Clock::now();
};

}  // namespace

int daemon_command(const Args& args, const MpiRuntime& rt) {
  if (wants_help(args)) {
    if (rt.is_root())
      std::cout
          << "usage: ringbench daemon --spool DIR [--output FILE] [--idle-exit MINUTES]\n\n"
             "Runs benchmark jobs from SPOOL/pending/ until stopped (ringbench stop, SIGTERM, "
             "SIGINT,\n"
             "SIGUSR1, or --idle-exit). Jobs are INI files with the keys of config files; see\n"
             "ringbench submit --help.\n\n"
          << daemon_options_description() << "\n";
    return 0;
  }
  const DaemonOptions options = parse_on_every_rank(rt, [&] { return parse_daemon_options(args); });
  install_stop_signals();
  Daemon daemon(rt, options);
  return daemon.serve();
}

}  // namespace ringbench
