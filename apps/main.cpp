// ringbench: ring attention benchmark. Dispatches to one subcommand; turns invalid input into
// exit code 2 (every rank, one message from rank 0) and any other failure into an abort of the
// whole job, so no rank is left waiting.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ConfigAgreement.hpp"
#include "core/Error.hpp"
#include "core/Version.hpp"
#include "ring/BackendFactory.hpp"

namespace {

using Command = int (*)(const ringbench::Args&, const ringbench::MpiRuntime&);

const std::map<std::string, std::pair<Command, const char*>>& commands() {
  static const std::map<std::string, std::pair<Command, const char*>> table = {
      {"run",
       {ringbench::run_command, "run ring attention cases, print the table, append to HDF5"}},
      {"quick",
       {ringbench::quick_command,
        "a small checked benchmark of this machine (configs/quick*.ini)"}},
      {"kernels",
       {ringbench::kernels_command,
        "compare the block kernels on one GPU: time, TFLOP/s, memory, error"}},
      {"report", {ringbench::report_command, "Markdown report with plots of a results file"}},
      {"export",
       {ringbench::export_command, "a results file as JSON or CSV records, one per case"}},
      {"compare",
       {ringbench::compare_command, "regression check of a results file against a baseline"}},
      {"sweep",
       {ringbench::sweep_command, "presets or lists of cases, scaling over --ranks 1,2,4"}},
      {"calibrate",
       {ringbench::calibrate_command, "measure step and link times for plan into a file"}},
      {"plan",
       {ringbench::plan_command, "predict a case on 1..4096 GPUs; --validate a results file"}},
      {"daemon", {ringbench::daemon_command, "serve benchmark jobs from a spool folder"}},
      {"submit", {ringbench::submit_command, "validate a job file and queue it for the daemon"}},
      {"status",
       {ringbench::status_command, "the daemon's heartbeat and its jobs, folder by folder"}},
      {"stop", {ringbench::stop_command, "ask the daemon to exit after its current job"}},
  };
  return table;
}

void print_usage(std::FILE* out) {
  std::fprintf(
      out, "usage: ringbench <command> [options]   (ringbench <command> --help)\n\ncommands:\n");
  for (const auto& [name, cmd] : commands())
    std::fprintf(out, "  %-9s %s\n", name.c_str(), cmd.second);
}

// Any failure that is not invalid input (a library error, a rank that did not answer) ends every
// rank of the job at once, with this rank's message.
[[noreturn]] void fail_job(const ringbench::MpiRuntime& rt, const std::string& who,
                           const std::exception& e) {
  std::fprintf(stderr, "%s: rank %d (%s): error: %s\n", who.c_str(), rt.rank(),
               rt.hostname().c_str(), e.what());
  std::fflush(stderr);
  rt.abort(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<ringbench::MpiRuntime> rt;
  try {
    rt = std::make_unique<ringbench::MpiRuntime>(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringbench: cannot start MPI: %s\n", e.what());
    return 1;
  }
  const bool root = rt->is_root();
  const std::string command = argc < 2 ? "" : argv[1];
  const ringbench::Args args(argv + std::min(argc, 2), argv + argc);
  try {
    // Before anything that differs by command: ranks started with different commands (or some
    // with --help) must all stop here, not wait in collectives the others never reach.
    const bool help = ringbench::wants_help(args) || command == "--help" || command == "-h";
    ringbench::require_same_command_everywhere(*rt, help ? command + " --help" : command);
  } catch (const ringbench::ConfigError& e) {
    if (root) std::fprintf(stderr, "ringbench: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fail_job(*rt, "ringbench", e);
  }
  if (command.empty() || command == "--help" || command == "-h") {
    if (root) print_usage(command.empty() ? stderr : stdout);
    return command.empty() ? 2 : 0;
  }
  if (command == "--version") {
    if (root)
      std::printf("ringbench %s (%s)\nbackends: %s\n", ringbench::kToolVersion,
                  ringbench::kGitCommit, ringbench::kBackends);
    return 0;
  }
  const auto it = commands().find(command);
  if (it == commands().end()) {
    if (root) {
      std::fprintf(stderr, "ringbench: error: invalid value for 'command': '%s' (allowed: ",
                   command.c_str());
      for (const auto& [name, cmd] : commands()) std::fprintf(stderr, "%s ", name.c_str());
      std::fprintf(stderr, ")\n");
    }
    return 2;
  }
  try {
    const int code = it->second.first(args, *rt);
    ringbench::release_device_resources();
    return code;
  } catch (const ringbench::ConfigError& e) {
    ringbench::release_device_resources();
    if (root) std::fprintf(stderr, "ringbench %s: error: %s\n", command.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    fail_job(*rt, "ringbench " + command, e);
  }
}
