// `ringbench submit --spool DIR JOB.ini`: checks the job with the daemon's own rules (the same
// screening of untrusted files, the same option validation, for the daemon's number of ranks),
// refusing it at once with the message, then writes it atomically into pending/ and prints its id.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>

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
      "priority", po::value<std::string>(),
      "higher runs first (-1000..1000); instead of a priority key in the file [0]")(
      "world", po::value<std::string>(),
      "validate for this many ranks [the daemon's, from its status file]");
  return d;
}

int world_option(const std::string& text) {
  const char* allowed = "a number of ranks from 1 to 1000000";
  const std::int64_t world = parse_integer("world", text, allowed);
  if (world < 1 || world > 1000000) throw ConfigError("world", text, allowed);
  return static_cast<int>(world);
}

int priority_option(const std::string& text) {
  const std::string allowed = "an integer from " + std::to_string(-kMaxJobPriority) + " to " +
                              std::to_string(kMaxJobPriority);
  const std::int64_t priority = parse_integer("priority", text, allowed);
  if (priority < -kMaxJobPriority || priority > kMaxJobPriority)
    throw ConfigError("priority", text, allowed);
  return static_cast<int>(priority);
}

// The numeric options, read as text and parsed first: a refusal names the key and the text given,
// whether or not the spool and the job file are there.
struct SubmitNumbers {
  std::optional<int> world, priority;
};

SubmitNumbers numbers_of(const po::variables_map& vm) {
  SubmitNumbers n;
  if (vm.count("world")) n.world = world_option(vm["world"].as<std::string>());
  if (vm.count("priority")) n.priority = priority_option(vm["priority"].as<std::string>());
  return n;
}

// Whom the job is validated for: the daemon's ranks and device, from its status file.
struct Target {
  ParseTarget parse;
  std::string said;  // for the message
};

Target target_of(const JobSpool& spool, std::optional<int> world) {
  Target t;
  t.parse.max_cases = kMaxJobCases;
  std::optional<DaemonStatus> status;
  try {
    status = DaemonStatus::parse(read_untrusted_file(spool.status_file(), 64 * 1024));
  } catch (const ConfigError&) {
  }
  if (world) {
    t.parse.world_size = *world;
  } else if (status && !status->ranks.empty()) {
    t.parse.world_size = std::stoi(status->ranks);
  }
  if (status && !status->device.empty()) t.parse.cuda = status->device == "cuda";
  t.said = std::to_string(t.parse.world_size) + " rank(s)" +
           (status  ? " (the daemon's)"
            : world ? ""
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
    throw_as_config_error(e);
  }
  const SubmitNumbers numbers = numbers_of(vm);
  if (!vm.count("spool")) throw ConfigError("spool", "", "the daemon's spool folder (--spool DIR)");
  if (!vm.count("job")) throw ConfigError("job", "", "a job file (INI, the keys of config files)");
  const JobSpool spool(vm["spool"].as<std::string>());
  spool.require_layout();
  const fs::path file = vm["job"].as<std::string>();
  std::string text = read_untrusted_file(file, kMaxJobBytes);
  ScreenedJob screened = screen_job(text);
  if (numbers.priority) {  // a priority key in the file as well is refused as given twice
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "priority = " + std::to_string(*numbers.priority) + "\n";
    screened = screen_job(text);
  }
  const Target target = target_of(spool, numbers.world);
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
