// `ringbench run` and `ringbench quick`: run the cases, print the table, append to the results
// file.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ConfigAgreement.hpp"
#include "apps/ResultTable.hpp"
#include "core/ChromeTrace.hpp"
#include "core/Error.hpp"
#include "core/ResultsFile.hpp"
#include "core/Version.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/PeerWait.hpp"
#include "ring/RingBenchmark.hpp"

namespace ringbench {

namespace {

// run and quick use the whole job; sub-rings and scaling series are what `sweep` adds.
void require_whole_world(const CaseOptions& options, int world) {
  for (const auto& p : options.placements)
    if (p.ranks != world)
      throw ConfigError(
          "ranks", std::to_string(p.ranks),
          "all ranks (" + std::to_string(world) + ") with run; ringbench sweep runs sub-rings");
}

std::string describe(const RunRecord& run) {
  std::string text;
  for (const char* key : {"seq-len", "heads", "head-dim", "mask", "layout", "dtype"})
    for (const auto& [k, v] : run.config)
      if (k == key) text += (text.empty() ? "" : " ") + k + "=" + v;
  return text;
}

// `defaults_file` names the file of defaults below the options (quick's), found when parsing so
// that a missing one is a refusal every rank agrees on.
int run_cases(const std::string& name, const Args& args, const MpiRuntime& rt,
              const std::function<std::string()>& defaults_file, bool verdicts) {
  if (wants_help(args)) {
    if (rt.is_root())
      std::cout << "usage: ringbench " << name << " [options]\n\n"
                << case_options_description() << "\n";
    return 0;
  }
  Args effective = args;
  if (verdicts) effective.push_back("--check");  // quick always checks correctness
  const CaseOptions options = parse_on_every_rank(rt, [&] {
    CaseOptions parsed = parse_case_options(effective, rt.size(), defaults_file());
    require_whole_world(parsed, rt.size());
    set_peer_timeout(parsed.cases.front().timeout_s);  // bounds the agreement itself too
    return parsed;
  });
  require_same_config_everywhere(rt, options);

  if (rt.is_root()) {
    std::printf("# ringbench %s (%s) %s: %zu case(s) on %d rank(s), device %s\n", kToolVersion,
                kGitCommit, name.c_str(), options.cases.size(), rt.size(),
                std::string(to_string(options.cases.front().device)).c_str());
    print_table_header(stdout);
  }
  std::vector<std::string> verdict_lines;
  std::vector<RunRecord> traced;  // with --trace: every case, drawn after the last one
  std::vector<std::string> traced_ids;
  bool any_failed = false;
  for (const auto& c : options.cases) {
    const BenchmarkOutcome outcome = run_ring_benchmark(c, rt);
    any_failed |= outcome.check_failed;
    if (!rt.is_root()) continue;
    print_table_row(stdout, outcome.record);
    std::string id;
    if (!options.output.empty()) id = append_run(options.output, outcome.record);
    if (!options.trace.empty()) {
      traced.push_back(outcome.record);
      traced.back().tensors.clear();  // the timeline needs timings only
      traced_ids.push_back(id);
    }
    if (outcome.record.check) {
      const CheckResult& check = *outcome.record.check;
      const std::string rows =
          check.rows > 0 ? ", " + std::to_string(check.rows) + " sampled rows" : "";
      char line[512];
      std::snprintf(line, sizeof line, "%s: %s (rel_err %.3e, tolerance %.1e%s)%s%s",
                    describe(outcome.record).c_str(), outcome.check_failed ? "FAILED" : "passed",
                    check.rel_err, check.tolerance, rows.c_str(), id.empty() ? "" : ", run ",
                    id.c_str());
      verdict_lines.push_back(line);
    }
  }
  if (rt.is_root()) {
    if (!options.output.empty()) std::printf("# results appended to %s\n", options.output.c_str());
    for (const auto& v : verdict_lines)
      if (verdicts || v.find("FAILED") != std::string::npos) std::printf("# check %s\n", v.c_str());
    if (verdicts) std::printf("# verdict: %s\n", any_failed ? "FAILED" : "all cases passed");
    if (verdicts && !options.output.empty())
      std::printf("# validation table and plots: ringbench report %s (report.md#validation)\n",
                  options.output.c_str());
    if (!options.trace.empty()) {
      write_trace(traced, options.trace, traced_ids);
      std::printf("# timeline written to %s (open in https://ui.perfetto.dev)\n",
                  options.trace.c_str());
    }
  }
  return any_failed ? 1 : 0;
}

// The device quick will run on: what --device says, else the GPU when there is one.
bool quick_on_gpu(const Args& args) {
  std::string device = "auto";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--device" && i + 1 < args.size()) device = args[i + 1];
    if (args[i].rfind("--device=", 0) == 0) device = args[i].substr(9);
  }
  return device == "cuda" || (device == "auto" && cuda_available());
}

}  // namespace

int run_command(const Args& args, const MpiRuntime& rt) {
  return run_cases(
      "run", args, rt, [] { return std::string(); }, false);
}

int quick_command(const Args& args, const MpiRuntime& rt) {
  const std::string file = quick_on_gpu(args) ? "quick-cuda.ini" : "quick.ini";
  return run_cases(
      "quick", args, rt, [&] { return find_config(file); }, true);
}

}  // namespace ringbench
