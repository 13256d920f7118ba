// The options that describe benchmark cases, shared by every subcommand that runs cases. The same
// keys work on the command line (--seq-len 64K) and in config files (seq-len = 65536); lists are
// space- or comma-separated and expand into one case per combination.
#pragma once

#include <boost/program_options.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/CasePlan.hpp"
#include "core/BenchmarkCase.hpp"

namespace ringbench {

struct CaseOptions {
  std::vector<BenchmarkCase> cases;
  std::vector<CasePlacement> placements;  // where each case runs (same order as cases)
  std::string output;                     // results file; empty: do not write one
  std::string trace;                      // Chrome-trace timeline file; empty: do not write one
};

// Descriptions of the case keys (for --help and for parsing).
boost::program_options::options_description case_options_description();

// Parses `args` (without the program and subcommand names) plus an optional --config file;
// the command line wins over the file, and `defaults_file` (when not empty) fills what neither
// gives. Throws ConfigError naming the key for anything invalid, before any communication.
CaseOptions parse_case_options(const std::vector<std::string>& args, int world_size,
                               const std::string& defaults_file = "");

// What options are validated against: the ranks they will run on, and whether CUDA is usable
// there (unset: ask this process; `submit` validates for a daemon on other machines).
struct ParseTarget {
  int world_size = 1;
  std::optional<bool> cuda;
  std::size_t max_cases = 0;  // > 0: refuse more cases (a job's lists must not exhaust memory)
};

// The same for `target` (`plan` reads GPU cases on a machine without one).
CaseOptions parse_case_options(const std::vector<std::string>& args, const ParseTarget& target,
                               const std::string& defaults_file = "");

// A daemon job: INI text (screened by JobFile first) with the config-file keys, validated for
// `target` like a command line. Reads no file except a named preset; `output` stays empty (jobs
// write to the daemon's results file).
CaseOptions parse_job_options(const std::string& ini_text, const ParseTarget& target);

// The sequence-range presets of configs/ that `preset = NAME` selects.
inline constexpr const char* kPresets[] = {"production", "medium", "long",    "document",
                                           "context",    "book",   "patterns"};

// configs/<file>, looked up beside the sources (build tree) or in RINGBENCH_CONFIG_DIR.
// Throws ConfigError when it is in neither.
std::string find_config(const std::string& file);

// "4096", "64K", "1M" (K = 1024) -> tokens. Throws ConfigError(key, text, ...).
std::int64_t parse_count(const std::string& key, const std::string& text);

// The whole of `text` as a number (not NaN) or an integer; otherwise ConfigError(key, text,
// allowed). Range checks are the caller's, with the same `allowed`.
double parse_number(const std::string& key, const std::string& text, const std::string& allowed);
std::int64_t parse_integer(const std::string& key, const std::string& text,
                           const std::string& allowed);

// Config files (--config, presets, the defaults of quick and kernels) are read whole: only
// regular files up to this size, so a FIFO cannot hang the run nor /dev/zero fill its memory.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;
inline constexpr const char* kMaxConfigText = "1 MiB";

// Boost.Program_options errors restated as ConfigError (key, value, allowed), for every
// subcommand's own options too.
[[noreturn]] void throw_as_config_error(const boost::program_options::error& e);

// `text` for a message: bytes outside printable ASCII as \xNN, cut to `max_chars` with "...".
std::string printable_excerpt(std::string_view text, std::size_t max_chars = 80);

// Whether a --help/-h was given (checked before anything else is validated).
bool wants_help(const std::vector<std::string>& args);

// Whether this build and machine can run the CUDA backend.
bool cuda_available();

}  // namespace ringbench
