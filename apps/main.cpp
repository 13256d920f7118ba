// ringbench: ring attention benchmark. Dispatches to one subcommand; turns invalid input into
// exit code 2 (every rank, one message from rank 0) and any other failure into an abort of the
// whole job, so no rank is left waiting.
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "apps/Commands.hpp"
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
    std::fprintf(out, "  %-8s %s\n", name.c_str(), cmd.second);
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
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    if (root) print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    if (root)
      std::printf("ringbench %s (%s)\nbackends: %s\n", ringbench::kToolVersion,
                  ringbench::kGitCommit, ringbench::kBackends);
    return 0;
  }
  const auto it = commands().find(argv[1]);
  if (it == commands().end()) {
    if (root) {
      std::fprintf(stderr,
                   "ringbench: error: invalid value for 'command': '%s' (allowed: ", argv[1]);
      for (const auto& [name, cmd] : commands()) std::fprintf(stderr, "%s ", name.c_str());
      std::fprintf(stderr, ")\n");
    }
    return 2;
  }
  const ringbench::Args args(argv + 2, argv + argc);
  try {
    const int code = it->second.first(args, *rt);
    ringbench::release_device_resources();
    return code;
  } catch (const ringbench::ConfigError& e) {
    ringbench::release_device_resources();
    if (root) std::fprintf(stderr, "ringbench %s: error: %s\n", argv[1], e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringbench %s: rank %d (%s): error: %s\n", argv[1], rt->rank(),
                 rt->hostname().c_str(), e.what());
    std::fflush(stderr);
    rt->abort(1);
  }
}
