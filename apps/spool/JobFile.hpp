// A daemon job file: the INI format of configs/ (key = value lines, # comments), but untrusted
// data from other users of the cluster. Screening accepts only the keys a job may set (no file
// names: no config, output or trace; no dump-tensors, which could fill the disk), limits sizes,
// and takes out the job-only key `priority`. What remains is parsed by parse_job_options.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringbench {

inline constexpr std::size_t kMaxJobBytes = 64 * 1024;
inline constexpr std::size_t kMaxJobLineBytes = 4096;
inline constexpr std::size_t kMaxJobCases = 1000;
inline constexpr int kMaxJobPriority = 1000;

struct ScreenedJob {
  std::string options;  // the case keys, ready for parse_job_options
  int priority = 0;     // higher runs first; then oldest first
};

// Throws ConfigError naming the key (or "job" for the file as a whole).
ScreenedJob screen_job(std::string_view text);

// Whether a job can be named `name` in the spool: [A-Za-z0-9][A-Za-z0-9._-]* ending in ".ini",
// at most 128 characters, so a name can never leave its folder or hide as a dot-file.
bool valid_job_name(std::string_view name);

// The keys a job may set (for messages and documentation).
std::string job_keys_text();

}  // namespace ringbench
