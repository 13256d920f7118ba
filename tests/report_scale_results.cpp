// Test helper: `ringbench_scale_results IN.h5 OUT.h5 FACTOR` appends every run of IN to OUT with
// all its timings multiplied by FACTOR and its summary recomputed, as if the same cases had run
// FACTOR times slower. The regression-check tests make their synthetic slowdowns with it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/ResultsFile.hpp"
#include "core/RunSummary.hpp"

using namespace ringbench;

namespace {

std::int64_t config_number(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return std::stoll(v);
  throw std::runtime_error("run lacks config key " + key);
}

void scale(RunRecord& run, double factor) {
  for (auto* v : {&run.compute_ms, &run.comm_ms, &run.wait_ms, &run.total_ms, &run.wall_ms})
    for (double& x : *v) x *= factor;
  const double peak = run.summary["peak_mem_bytes"], per_token = run.summary["bytes_per_token"];
  summarize_run(run, run.summary.at("flops"),
                config_number(run, "batch") * config_number(run, "seq-len"));
  run.summary["peak_mem_bytes"] = peak;  // memory does not change with speed
  run.summary["bytes_per_token"] = per_token;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s IN.h5 OUT.h5 FACTOR\n", argv[0]);
    return 2;
  }
  const double factor = std::atof(argv[3]);
  for (const auto& id : list_runs(argv[1])) {
    RunRecord run = read_run(argv[1], id);
    scale(run, factor);
    append_run(argv[2], run);
  }
  return 0;
}
