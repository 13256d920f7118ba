// What the commands that read results files (report, export, compare) share: their arguments
// parsed into Boost.Program_options with errors in the project's words, and the files checked
// before any work, so a wrong path is exit code 2 with a message naming it.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "core/ResultsComparison.hpp"

namespace ringbench {

// Parses `args` against `options` plus positional names (each taken once, in order). Throws
// ConfigError naming the option for unknown options, bad syntax or missing positionals.
boost::program_options::variables_map parse_results_args(
    const std::vector<std::string>& args,
    const boost::program_options::options_description& options,
    const std::vector<std::string>& positional);

// Throws ConfigError(key, path, ...) unless `path` is an existing ringbench results file.
void require_results_file(const std::string& key, const std::string& path);

// Every run of the file, in id order.
std::vector<IdentifiedRun> read_all_runs(const std::string& path);

}  // namespace ringbench
