// What the daemon writes below a finished job in done/ or failed/ (as # comment lines, so the
// file stays a valid job that can be fixed and submitted again), and how it finds the runs an
// earlier, interrupted attempt of a job already added to the results file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "apps/CaseOptions.hpp"
#include "apps/SweepRunner.hpp"

namespace ringbench {

inline constexpr const char* kReportMarker = "# ---- ringbench daemon ----";

// The report of a job that ran (done, or failed because a check failed or no case could run).
std::string job_report(const std::string& status, const CaseOptions& options,
                       const SweepOutcome& outcome, const std::filesystem::path& results,
                       const std::string& error = "");

// The report of a job refused before it ran, or that failed while running.
std::string job_error_report(const std::string& error);

// Runs in `results` that carry daemon_job = `job` (tagged when appended), by case index: the
// cases an earlier attempt finished, which a resumed job does not run again.
std::map<std::size_t, CaseResult> earlier_results(const std::filesystem::path& results,
                                                  const std::string& job, std::size_t cases);

// The report's `key = value` lines (the last report in the file), for `ringbench status`.
std::map<std::string, std::string> read_report(const std::string& file_text);

}  // namespace ringbench
