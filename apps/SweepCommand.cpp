// `ringbench sweep`: the cases of a preset or of explicit lists, each on its ring (--ranks 1,2,4
// adds strong and weak scaling series), with the batch chosen per length (--batch auto), progress
// on rank 0, cases that do not fit skipped with the reason recorded, and a scaling summary.
#include <cstdio>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ConfigAgreement.hpp"
#include "apps/ResultTable.hpp"
#include "apps/Scaling.hpp"
#include "apps/SweepRunner.hpp"
#include "core/ChromeTrace.hpp"
#include "core/Version.hpp"
#include "distributed/PeerWait.hpp"

namespace ringbench {

namespace {

// Rank 0: the progress display around the result table.
class SweepPrinter final : public SweepObserver {
 public:
  void case_starting(const SweepClock& clock, std::size_t index, const BenchmarkCase& c,
                     const CasePlacement& p) override {
    progress_.starting(clock, index, describe_case(c, p));
  }
  void case_done(const SweepClock&, const CaseResult& r) override {
    progress_.clear();
    if (r.refused) {
      std::printf("# skipped %s: %s%s%s\n", describe_case_of(r).c_str(), r.reason.c_str(),
                  r.run_id.empty() ? "" : " (run ",
                  r.run_id.empty() ? "" : (r.run_id + ")").c_str());
    } else {
      print_table_row(stdout, r.record);
      if (r.check_failed)
        std::printf("# check FAILED: %s (run %s)\n", describe_case_of(r).c_str(), r.run_id.c_str());
    }
    std::fflush(stdout);
  }
  void finished() { progress_.finished(); }
  const CaseOptions* options = nullptr;

 private:
  std::string describe_case_of(const CaseResult& r) const {
    return describe_case(options->cases.at(r.index), options->placements.at(r.index));
  }
  ProgressDisplay progress_{stdout};
};

void print_help() {
  std::cout
      << "usage: ringbench sweep [--preset NAME | lists of keys] [--ranks 1,2,4] [--batch auto] "
         "[options]\n\n"
         "Runs every combination of the lists (or of a preset of configs/), each case on the\n"
         "first N ranks for every N of --ranks: the same total sequence (strong scaling) and the\n"
         "same tokens per rank (weak scaling). Cases that do not fit are skipped and recorded.\n\n"
      << case_options_description() << "\n";
}

}  // namespace

int sweep_command(const Args& args, const MpiRuntime& rt) {
  if (wants_help(args)) {
    if (rt.is_root()) print_help();
    return 0;
  }
  const CaseOptions options = parse_on_every_rank(rt, [&] {
    CaseOptions parsed = parse_case_options(args, rt.size());
    set_peer_timeout(parsed.cases.front().timeout_s);  // bounds the agreement itself too
    return parsed;
  });
  require_same_config_everywhere(rt, options);
  if (rt.is_root()) {
    std::printf("# ringbench %s (%s) sweep: %zu case(s) on %d rank(s), device %s\n", kToolVersion,
                kGitCommit, options.cases.size(), rt.size(),
                std::string(to_string(options.cases.front().device)).c_str());
    print_table_header(stdout);
  }
  RingPool pool(rt);
  SweepPrinter printer;
  printer.options = &options;
  SweepSettings settings;
  settings.output = options.output;
  const SweepOutcome outcome = run_sweep(options, pool, settings, printer);
  // A sweep that measured nothing failed, even if each skip had its reason: exit 1, as for a
  // failed check (every rank counts the cases that ran).
  const bool nothing_ran = !outcome.results.empty() && outcome.ran == 0;
  const int exit_code = outcome.any_check_failed || nothing_ran ? 1 : 0;
  if (!rt.is_root()) return exit_code;

  printer.finished();
  std::size_t refused = 0;
  for (const auto& r : outcome.results) refused += r.refused ? 1 : 0;
  for (const auto& line : scaling_summary(options, outcome.results))
    std::printf("# scaling %s\n", line.c_str());
  if (refused)
    std::printf("# %zu of %zu case(s) skipped (reasons above)\n", refused, outcome.results.size());
  if (!options.output.empty()) std::printf("# results appended to %s\n", options.output.c_str());
  if (!options.trace.empty()) {
    std::vector<RunRecord> runs;
    std::vector<std::string> ids;
    for (const auto& r : outcome.results) {
      if (r.refused) continue;
      runs.push_back(r.record);
      runs.back().tensors.clear();  // the timeline needs timings only
      ids.push_back(r.run_id);
    }
    write_trace(runs, options.trace, ids);
    std::printf("# timeline written to %s (open in https://ui.perfetto.dev)\n",
                options.trace.c_str());
  }
  if (nothing_ran) std::printf("# nothing ran: every case was skipped (reasons above)\n");
  return exit_code;
}

}  // namespace ringbench
