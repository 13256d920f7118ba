// Scaling efficiency of the cases of a scaling series (--ranks 1,2,4): TFLOP/s per rank relative
// to the baseline (the same case on the fewest ranks). For strong scaling (same sequence, more
// ranks) that is the classic T_base * P_base / (P * T_P). For weak scaling (same tokens per rank)
// it is the work-normalised form: attention work per rank grows with P at constant tokens per
// rank (every query meets P times more keys), so constant time would not be ideal; constant
// FLOP/s per rank is.
#pragma once

#include <string>
#include <vector>

#include "apps/CasePlan.hpp"
#include "apps/SweepRunner.hpp"
#include "core/RunRecord.hpp"

namespace ringbench {

// NaN when either run has no throughput (refused or failed).
double scaling_efficiency(const RunRecord& run, const RunRecord& base);

// Stores the case's role (provenance `scaling`, `scaling_base_ranks`, `scaling_base_run`) and its
// efficiency (summary `scaling_efficiency`) in the run, before it is appended.
void annotate_scaling(RunRecord& run, const CasePlacement& placement, const CaseResult* base,
                      int base_ranks);

// One line per series: "seq-len=... : strong 2:0.95 4:0.81; weak 2:0.97 4:0.90".
std::vector<std::string> scaling_summary(const CaseOptions& options,
                                         const std::vector<CaseResult>& results);

}  // namespace ringbench
