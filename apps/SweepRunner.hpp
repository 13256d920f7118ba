// Runs the cases of a sweep (or of a daemon job) on their rings, one after the other, on every
// rank of the job. Per case: the ring's ranks run it (the others wait, sleeping), rank 0 learns
// whether it was refused (does not fit, unsupported), records it, appends it to the results
// file, and at the case boundary every rank learns whether any rank was asked to stop.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "apps/CaseOptions.hpp"
#include "apps/RingPool.hpp"
#include "apps/SweepProgress.hpp"
#include "core/RunRecord.hpp"

namespace ringbench {

// What became of one case (complete on rank 0; other ranks know `refused` and `check_failed`).
struct CaseResult {
  std::size_t index = 0;
  bool refused = false;  // not run: `reason` says why (also recorded as a failed run)
  std::string reason;
  bool check_failed = false;
  bool earlier = false;  // run by an earlier attempt of the same job (resumed)
  RunRecord record;      // rank 0: the run as appended
  std::string run_id;    // rank 0: its id in the results file ("" without one)
};

struct SweepSettings {
  std::string output;        // results file; empty: none
  bool skip_refused = true;  // false: a refused case ends the sweep with its ConfigError
  std::map<std::string, std::string> tags;    // provenance added to every run (daemon job)
  std::map<std::size_t, CaseResult> earlier;  // rank 0: cases done by an earlier attempt
  std::function<bool()> stop_requested;       // polled on every rank after each case
};

// Rank 0's view of the sweep as it goes (progress display, daemon status, result table).
class SweepObserver {
 public:
  virtual ~SweepObserver() = default;
  virtual void case_starting(const SweepClock&, std::size_t index, const BenchmarkCase&,
                             const CasePlacement&) {}
  virtual void case_done(const SweepClock&, const CaseResult&) {}
};

struct SweepOutcome {
  std::vector<CaseResult> results;  // rank 0: every case run, refused or resumed, in order
  bool interrupted = false;         // stopped at a case boundary with cases left (every rank)
  bool any_check_failed = false;    // every rank
  std::size_t ran = 0;              // cases run (not refused), this attempt and earlier ones
};

// Collective over pool.job(). A refused case is skipped (or, without skip_refused, thrown on every
// rank); any other failure propagates (the caller aborts the job, as for a single run).
SweepOutcome run_sweep(const CaseOptions& options, RingPool& pool, const SweepSettings& settings,
                       SweepObserver& observer);

// "seq-len=4096 heads=4 head-dim=64 mask=causal layout=zigzag ranks=2"
std::string describe_case(const BenchmarkCase& c, const CasePlacement& p);

}  // namespace ringbench
