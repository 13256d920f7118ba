#include "apps/ResultsInput.hpp"

#include <filesystem>

#include "core/Error.hpp"
#include "core/ResultsFile.hpp"

namespace ringbench {

namespace po = boost::program_options;

namespace {
std::string option_key(const po::error_with_option_name& e) {
  std::string name = e.get_option_name();
  return name.substr(std::min(name.find_first_not_of('-'), name.size()));
}
}  // namespace

po::variables_map parse_results_args(const std::vector<std::string>& args,
                                     const po::options_description& options,
                                     const std::vector<std::string>& positional) {
  po::options_description all = options;
  po::positional_options_description order;
  for (const auto& name : positional) {
    all.add_options()(name.c_str(), po::value<std::string>(), "");
    order.add(name.c_str(), 1);
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(order).run(), vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    throw ConfigError("arguments", "(too many)", "exactly the files named in --help");
  } catch (const po::unknown_option& e) {
    throw ConfigError(option_key(e), "", "a known option (see --help)");
  } catch (const po::error_with_option_name& e) {
    throw ConfigError(option_key(e), "", e.what());
  } catch (const po::error& e) {
    throw ConfigError("command line", "", e.what());
  }
  for (const auto& name : positional)
    if (!vm.count(name)) throw ConfigError(name, "(missing)", "a results file (see --help)");
  return vm;
}

void require_results_file(const std::string& key, const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    throw ConfigError(key, path, "an existing ringbench HDF5 results file (no such file)");
  try {
    check_results_file_usable(path);
  } catch (const ConfigError&) {
    throw ConfigError(key, path, "a ringbench HDF5 results file (this file is not one)");
  }
}

std::vector<IdentifiedRun> read_all_runs(const std::string& path) {
  std::vector<IdentifiedRun> runs;
  for (const auto& id : list_runs(path)) runs.push_back({id, read_run(path, id)});
  return runs;
}

}  // namespace ringbench
