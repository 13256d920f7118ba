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

// The one rule for job names, shared by `ringbench submit` (which only writes names that pass it)
// and the spool (a file in pending/ named otherwise is not a job: it goes to failed/ under a name
// that passes): [A-Za-z0-9][A-Za-z0-9._-]* ending in ".ini", at most 128 characters, so a name can
// never leave its folder, hide as a dot-file, look like an option or garble a terminal.
bool valid_job_name(std::string_view name);
bool job_name_character(char ch);  // one a job name may hold anywhere but first
inline constexpr const char* kJobNameRule =
    "a name like ringbench submit writes: [A-Za-z0-9][A-Za-z0-9._-]*.ini, at most 128 characters";

// The keys a job may set (for messages and documentation).
std::string job_keys_text();

}  // namespace ringbench
