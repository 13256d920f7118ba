#include "apps/JobReport.hpp"

#include <cstdio>
#include <ctime>
#include <sstream>

#include "apps/Scaling.hpp"
#include "apps/spool/JobSpool.hpp"
#include "core/ResultsFile.hpp"

namespace ringbench {

namespace {

// Report values are single lines of printable text (errors may quote a user's values).
std::string clean(std::string text) {
  for (char& ch : text)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) ch = ' ';
  return text;
}

std::string header(const std::string& status) {
  return std::string(kReportMarker) + "\n# status = " + status +
         "\n# finished_utc = " + utc_text(std::time(nullptr)) + "\n";
}

double summary_of(const RunRecord& run, const char* key) {
  const auto it = run.summary.find(key);
  return it == run.summary.end() ? 0.0 : it->second;
}

std::string case_line(const CaseOptions& options, const CaseResult& r) {
  std::string line =
      "# case " + std::to_string(r.index + 1) + "/" + std::to_string(options.cases.size()) + " " +
      describe_case(options.cases.at(r.index), options.placements.at(r.index)) + ": ";
  if (r.refused)
    return line + "skipped: " + clean(r.reason) +
           (r.run_id.empty() ? "" : " (run " + r.run_id + ")") + "\n";
  char numbers[256];
  std::snprintf(numbers, sizeof numbers,
                "run %s, median %.4g ms, %.4g TFLOP/s per rank, %.4g tokens/s", r.run_id.c_str(),
                summary_of(r.record, "median_ms"), summary_of(r.record, "tflops_per_rank"),
                summary_of(r.record, "tokens_per_s"));
  line += numbers;
  if (r.record.check) {
    char check[96];
    std::snprintf(check, sizeof check, ", check %s (rel_err %.2e)",
                  r.record.check->passed ? "passed" : "FAILED", r.record.check->rel_err);
    line += check;
  }
  return line + (r.earlier ? " (earlier attempt)" : "") + "\n";
}

}  // namespace

std::string job_report(const std::string& status, const CaseOptions& options,
                       const SweepOutcome& outcome, const std::filesystem::path& results,
                       const std::string& error) {
  std::string report = header(status);
  if (!error.empty()) report += "# error = " + clean(error) + "\n";
  report += "# results = " + results.string() + "\n# runs =";
  for (const auto& r : outcome.results)
    if (!r.run_id.empty()) report += " " + r.run_id;
  report += "\n";
  for (const auto& r : outcome.results) report += case_line(options, r);
  for (const auto& line : scaling_summary(options, outcome.results))
    report += "# scaling " + clean(line) + "\n";
  return report;
}

std::string job_error_report(const std::string& error) {
  return header("failed") + "# error = " + clean(error) + "\n";
}

std::map<std::size_t, CaseResult> earlier_results(const std::filesystem::path& results,
                                                  const std::string& job, std::size_t cases) {
  std::map<std::size_t, CaseResult> found;
  if (!std::filesystem::exists(results)) return found;
  for (const auto& id : list_runs(results)) {
    RunRecord run = read_run(results, id);
    if (run.provenance["daemon_job"] != job ||
        run.provenance["sweep_cases"] != std::to_string(cases))
      continue;
    CaseResult r;
    try {
      r.index = std::stoul(run.provenance["sweep_case"]);
    } catch (const std::exception&) {
      continue;
    }
    if (r.index >= cases) continue;
    r.refused = run.status != "ok";
    r.reason = run.error;
    r.check_failed = run.check && !run.check->passed;
    r.run_id = id;
    r.record = std::move(run);
    r.record.tensors.clear();
    found[r.index] = std::move(r);
  }
  return found;
}

std::map<std::string, std::string> read_report(const std::string& file_text) {
  std::map<std::string, std::string> kv;
  const auto at = file_text.rfind(kReportMarker);
  if (at == std::string::npos) return kv;
  std::istringstream in(file_text.substr(at));
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    if (line.rfind("# ", 0) == 0 && eq != std::string::npos)
      kv.emplace(line.substr(2, eq - 2), line.substr(eq + 3));
  }
  return kv;
}

}  // namespace ringbench
