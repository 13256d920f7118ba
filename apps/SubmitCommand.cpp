// `ringbench submit --spool DIR JOB.ini`: checks the job with the daemon's own rules (the same
// screening of untrusted files, the same option validation, for the daemon's number of ranks),
// refusing it at once with the message, then writes it atomically into pending/ and prints its id.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/spool/DaemonStatus.hpp"
#include "apps/spool/JobFile.hpp"
#include "apps/spool/JobSpool.hpp"
#include "apps/spool/SafeFile.hpp"
#include "core/Error.hpp"

namespace ringbench {

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

po::options_description submit_options_description() {
  po::options_description d("Submit options");
  d.add_options()("spool", po::value<std::string>(), "the daemon's spool folder")(
      "job", po::value<std::string>(),
      "the job file (INI, the keys of config files; also the last argument)")(
      "priority", po::value<int>(),
      "higher runs first (-1000..1000); instead of a priority key in the file [0]")(
      "world", po::value<int>(),
      "validate for this many ranks [the daemon's, from its status file]");
  return d;
}

// Whom the job is validated for: the daemon's ranks and device, from its status file.
struct Target {
  ParseTarget parse;
  std::string said;  // for the message
};

Target target_of(const JobSpool& spool, const po::variables_map& vm) {
  Target t;
  t.parse.max_cases = kMaxJobCases;
  std::optional<DaemonStatus> status;
  try {
    status = DaemonStatus::parse(read_untrusted_file(spool.status_file(), 64 * 1024));
  } catch (const ConfigError&) {
  }
  if (vm.count("world")) {
    t.parse.world_size = vm["world"].as<int>();
    if (t.parse.world_size < 1)
      throw ConfigError("world", std::to_string(t.parse.world_size), "1 or more");
  } else if (status && !status->ranks.empty()) {
    t.parse.world_size = std::stoi(status->ranks);
  }
  if (status && !status->device.empty()) t.parse.cuda = status->device == "cuda";
  t.said = std::to_string(t.parse.world_size) + " rank(s)" +
           (status              ? " (the daemon's)"
            : vm.count("world") ? ""
                                : " (no daemon status yet: pass --world)");
  return t;
}

CaseOptions validate_job(const std::string& options, ParseTarget target) {
  if (target.cuda) return parse_job_options(options, target);
  // No daemon has said whether it has GPUs: validate for the device the job asks for.
  try {
    target.cuda = false;
    return parse_job_options(options, target);
  } catch (const ConfigError& e) {
    if (e.key() != "device") throw;
    target.cuda = true;
    return parse_job_options(options, target);
  }
}

}  // namespace

int submit_command(const Args& args, const MpiRuntime& rt) {
  if (!rt.is_root()) return 0;  // a single-process tool; under mpirun only rank 0 acts
  if (wants_help(args)) {
    std::cout << "usage: ringbench submit --spool DIR [--priority N] [--world N] JOB.ini\n\n"
                 "Job keys: "
              << job_keys_text()
              << ".\n"
                 "A job must not name files (no config, output, trace) nor dump tensors.\n\n"
              << submit_options_description() << "\n";
    return 0;
  }
  po::variables_map vm;
  po::positional_options_description positional;
  positional.add("job", 1);
  try {
    po::store(po::command_line_parser(args)
                  .options(submit_options_description())
                  .positional(positional)
                  .run(),
              vm);
  } catch (const po::error& e) {
    throw ConfigError("command line", "", e.what());
  }
  if (!vm.count("spool")) throw ConfigError("spool", "", "the daemon's spool folder (--spool DIR)");
  if (!vm.count("job")) throw ConfigError("job", "", "a job file (INI, the keys of config files)");
  const JobSpool spool(vm["spool"].as<std::string>());
  spool.require_layout();
  const fs::path file = vm["job"].as<std::string>();
  std::string text = read_untrusted_file(file, kMaxJobBytes);
  ScreenedJob screened = screen_job(text);
  if (vm.count("priority")) {  // a priority key in the file as well is refused as given twice
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "priority = " + std::to_string(vm["priority"].as<int>()) + "\n";
    screened = screen_job(text);
  }
  const Target target = target_of(spool, vm);
  const CaseOptions options = validate_job(screened.options, target.parse);
  if (options.cases.size() > kMaxJobCases)
    throw ConfigError("job", std::to_string(options.cases.size()) + " cases",
                      "at most " + std::to_string(kMaxJobCases) + " cases");

  const std::string name = spool.submit(text, file.stem().string());
  std::printf("%s\n", name.c_str());
  std::fprintf(stderr, "# submitted to %s: %zu case(s), validated for %s, priority %d\n",
               spool.folder(JobState::pending).c_str(), options.cases.size(), target.said.c_str(),
               screened.priority);
  return 0;
}

}  // namespace ringbench
