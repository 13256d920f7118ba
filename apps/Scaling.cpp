#include "apps/Scaling.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace ringbench {

namespace {
double tflops_per_rank(const RunRecord& run) {
  const auto it = run.summary.find("tflops_per_rank");
  return run.status == "ok" && it != run.summary.end() ? it->second : 0.0;
}
}  // namespace

double scaling_efficiency(const RunRecord& run, const RunRecord& base) {
  const double mine = tflops_per_rank(run), theirs = tflops_per_rank(base);
  if (mine <= 0 || theirs <= 0) return std::numeric_limits<double>::quiet_NaN();
  return mine / theirs;
}

void annotate_scaling(RunRecord& run, const CasePlacement& placement, const CaseResult* base,
                      int base_ranks) {
  if (placement.role == ScalingRole::none) return;
  run.provenance["scaling"] = std::string(to_string(placement.role));
  run.provenance["scaling_base_ranks"] = std::to_string(base_ranks);
  if (placement.role == ScalingRole::base) {
    if (run.status == "ok") run.summary["scaling_efficiency"] = 1.0;
    return;
  }
  if (!base) return;
  run.provenance["scaling_base_run"] = base->run_id;
  const double e = scaling_efficiency(run, base->record);
  if (std::isfinite(e)) run.summary["scaling_efficiency"] = e;
}

std::vector<std::string> scaling_summary(const CaseOptions& options,
                                         const std::vector<CaseResult>& results) {
  std::vector<std::string> lines;
  for (const auto& base : results) {
    const CasePlacement& bp = options.placements.at(base.index);
    if (bp.role != ScalingRole::base) continue;
    std::string series[2];  // strong, weak
    for (const auto& r : results) {
      const CasePlacement& p = options.placements.at(r.index);
      if (p.base != base.index || p.role == ScalingRole::base) continue;
      const double e = scaling_efficiency(r.record, base.record);
      char item[48];
      if (std::isfinite(e))
        std::snprintf(item, sizeof item, " %d:%.2f", p.ranks, e);
      else
        std::snprintf(item, sizeof item, " %d:n/a", p.ranks);
      series[p.role == ScalingRole::weak ? 1 : 0] += item;
    }
    std::string line = describe_case(options.cases.at(base.index), CasePlacement{bp.ranks});
    line += ": efficiency (TFLOP/s per rank vs " + std::to_string(bp.ranks) +
            " rank(s)), ranks:efficiency";
    if (!series[0].empty()) line += "; strong" + series[0];
    if (!series[1].empty()) line += "; weak" + series[1];
    lines.push_back(line);
  }
  return lines;
}

}  // namespace ringbench
