// `ringbench report RESULTS.h5 [--out DIR]`: a Markdown report with PNG plots beside it. The
// report is drawn by a Python helper (tools/report/, h5py + matplotlib, installed by
// tools/setup-deps.sh) because a plotting library draws better figures than code written here;
// this command checks the arguments, finds the helper and runs it.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ResultsInput.hpp"
#include "core/Error.hpp"

extern char** environ;

namespace ringbench {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr int kMissingTools = 2;  // like bad input: the user has something to install

po::options_description report_options() {
  po::options_description d("Options");
  d.add_options()("out", po::value<std::string>(),
                  "folder for report.md and the plots [RESULTS-report]");
  return d;
}

// results.h5 -> results-report, beside the results file.
std::string default_out_dir(const std::string& results) {
  fs::path p(results);
  return (p.parent_path() / (p.stem().string() + "-report")).string();
}

// The report folder, or the nearest folder above it that exists (the helper makes the rest), must
// be a folder this user may write: checked here, so a wrong --out is one message, not a traceback.
void require_writable_out(const std::string& out) {
  if (out.empty()) throw ConfigError("out", out, "a folder name");
  fs::path folder = fs::absolute(out);
  std::error_code ec;
  while (!fs::exists(folder, ec) && folder.has_parent_path() && folder != folder.parent_path())
    folder = folder.parent_path();
  if (!fs::is_directory(folder, ec))
    throw ConfigError("out", out,
                      "a folder that can be made (" + folder.string() + " is not a folder)");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw ConfigError(
        "out", out,
        "a folder this user may write (" + folder.string() + ": " + std::strerror(errno) + ")");
}

// The helper beside the sources (build tree) or where RINGBENCH_REPORT_HELPER points.
std::string find_helper() {
  const char* env = std::getenv("RINGBENCH_REPORT_HELPER");
  const std::string path = env ? env : RINGBENCH_SOURCE_REPORT_HELPER;
  if (!fs::is_regular_file(path))
    throw ConfigError("RINGBENCH_REPORT_HELPER", path,
                      "the path of tools/report/ringbench_report.py");
  return path;
}

// Runs `argv` and returns its exit code; -1 with errno set when it could not be started.
int run_process(const std::vector<std::string>& argv) {
  std::vector<char*> raw;
  for (const auto& a : argv) raw.push_back(const_cast<char*>(a.c_str()));
  raw.push_back(nullptr);
  pid_t pid = 0;
  if (const int err = posix_spawnp(&pid, raw[0], nullptr, nullptr, raw.data(), environ); err != 0) {
    errno = err;
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int report_command(const Args& args, const MpiRuntime& rt) {
  if (wants_help(args)) {
    if (rt.is_root())
      std::cout
          << "usage: ringbench report RESULTS.h5 [--out DIR]\n\n"
          << "Writes DIR/report.md (environment, tables, validation, best configurations,\n"
          << "scaling, communication, imbalance) and PNG plots beside it. Needs python3 with\n"
          << "h5py and matplotlib (RINGBENCH_PYTHON picks another interpreter).\n\n"
          << report_options() << "\n";
    return 0;
  }
  const po::variables_map vm = parse_results_args(args, report_options(), {"results"});
  const std::string results = vm["results"].as<std::string>();
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : default_out_dir(results);
  require_results_file("results", results);
  require_writable_out(out);
  const std::string helper = find_helper();
  if (!rt.is_root()) return 0;

  const char* env_python = std::getenv("RINGBENCH_PYTHON");
  const std::string python = env_python ? env_python : "python3";
  const int code = run_process({python, helper, results, "--out", out});
  if (code < 0) {
    std::cerr
        << "ringbench report: error: cannot run '" << python << "' (" << std::strerror(errno)
        << "): the report needs python3 with h5py and matplotlib (tools/setup-deps.sh installs "
           "them; RINGBENCH_PYTHON picks the interpreter)\n";
    return kMissingTools;
  }
  return code;
}

}  // namespace ringbench
