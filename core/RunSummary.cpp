#include "core/RunSummary.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/Statistics.hpp"

namespace ringbench {

namespace {
// Sum over steps of a [iterations][ranks][steps] array for one (iteration, rank).
double step_sum(const std::vector<double>& a, int steps, std::size_t iter_rank) {
  const auto begin = a.begin() + static_cast<std::ptrdiff_t>(iter_rank * steps);
  return std::accumulate(begin, begin + steps, 0.0);
}
// fwd_* / bwd_*: one pass's iteration times (the slowest rank's pass time per iteration) and rate.
// Members of the ring the FLOPs are shared by: the columns, or an emulated ring's size.
double ring_members(const RunRecord& run) {
  const auto it = run.summary.find("ring_size");
  return it != run.summary.end() ? it->second : run.world_size;
}

void summarize_pass(RunRecord& run, const std::string& prefix, const PassTiming& pass) {
  const int I = run.iterations, R = run.world_size;
  std::vector<double> ring_ms;
  for (int i = 0; i < I; ++i) {
    double slowest = 0;
    for (int r = 0; r < R; ++r)
      slowest = std::max(slowest, pass.total_ms[static_cast<std::size_t>(i) * R + r]);
    ring_ms.push_back(slowest);
  }
  const Summary t = summarize(ring_ms);
  auto& s = run.summary;
  s[prefix + "median_ms"] = t.median;
  s[prefix + "mean_ms"] = t.mean;
  s[prefix + "std_ms"] = t.std;
  s[prefix + "min_ms"] = t.min;
  s[prefix + "max_ms"] = t.max;
  s[prefix + "p95_ms"] = t.p95;
  s[prefix + "flops"] = pass.flops;
  s[prefix + "tflops_per_rank"] =
      t.median > 0 ? pass.flops / ring_members(run) / (t.median * 1e-3) / 1e12 : 0.0;
}

}  // namespace

void summarize_run(RunRecord& run, double flops, std::int64_t tokens) {
  const int I = run.iterations, R = run.world_size, S = run.steps;
  std::vector<double> ring_ms, wall_ms, exposed, comm, compute, wait;
  std::vector<double> per_rank_compute(static_cast<std::size_t>(R), 0.0);
  for (int i = 0; i < I; ++i) {
    double slowest = 0, slowest_wall = 0, wait_sum = 0, total_sum = 0, comm_sum = 0,
           compute_sum = 0;
    for (int r = 0; r < R; ++r) {
      const std::size_t ir = static_cast<std::size_t>(i) * R + r;
      slowest = std::max(slowest, run.total_ms[ir]);
      if (ir < run.wall_ms.size()) slowest_wall = std::max(slowest_wall, run.wall_ms[ir]);
      total_sum += run.total_ms[ir];
      wait_sum += step_sum(run.wait_ms, S, ir);
      comm_sum += step_sum(run.comm_ms, S, ir);
      const double c = step_sum(run.compute_ms, S, ir);
      compute_sum += c;
      per_rank_compute[r] += c / I;
    }
    ring_ms.push_back(slowest);  // an iteration ends when its slowest rank does
    wall_ms.push_back(slowest_wall);
    exposed.push_back(total_sum > 0 ? wait_sum / total_sum : 0.0);
    comm.push_back(comm_sum / R);
    compute.push_back(compute_sum / R);
    wait.push_back(wait_sum / R);
  }
  std::vector<double> rank_medians;
  for (int r = 0; r < R; ++r) {
    std::vector<double> t;
    for (int i = 0; i < I; ++i) t.push_back(run.total_ms[static_cast<std::size_t>(i) * R + r]);
    rank_medians.push_back(percentile(t, 0.5));
  }
  const Summary ring = summarize(ring_ms), ranks = summarize(rank_medians);
  const double bytes_per_rank =
      static_cast<double>(
          std::accumulate(run.bytes_sent.begin(), run.bytes_sent.end(), std::int64_t{0})) /
      R;
  const double comm_ms = percentile(comm, 0.5);
  const auto [lo, hi] = std::minmax_element(per_rank_compute.begin(), per_rank_compute.end());

  auto& s = run.summary;
  s["median_ms"] = ring.median;
  s["mean_ms"] = ring.mean;
  s["std_ms"] = ring.std;
  s["min_ms"] = ring.min;
  s["max_ms"] = ring.max;
  s["p95_ms"] = ring.p95;
  s["wall_median_ms"] = percentile(wall_ms, 0.5);
  s["rank_min_ms"] = ranks.min;
  s["rank_median_ms"] = ranks.median;
  s["rank_max_ms"] = ranks.max;
  s["flops"] = flops;
  s["tflops_per_rank"] =
      ring.median > 0 ? flops / ring_members(run) / (ring.median * 1e-3) / 1e12 : 0.0;
  s["tokens_per_s"] = ring.median > 0 ? static_cast<double>(tokens) / (ring.median * 1e-3) : 0.0;
  s["compute_ms"] = percentile(compute, 0.5);
  s["comm_ms"] = comm_ms;
  s["wait_ms"] = percentile(wait, 0.5);
  s["exposed_comm_fraction"] = percentile(exposed, 0.5);
  s["bytes_sent_per_rank"] = bytes_per_rank;
  s["achieved_GBps"] = comm_ms > 0 ? bytes_per_rank / (comm_ms * 1e-3) / 1e9 : 0.0;
  s["compute_imbalance"] = (R > 0 && *lo > 0) ? *hi / *lo : 1.0;
  for (const auto& [name, pass] : run.passes)
    summarize_pass(run, name == "backward" ? "bwd_" : "fwd_", pass);
}

}  // namespace ringbench
