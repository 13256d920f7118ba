#include "apps/ResultTable.hpp"

#include <string>

namespace ringbench {

namespace {
std::string config_value(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return v;
  return "?";
}
double summary_value(const RunRecord& run, const std::string& key) {
  auto it = run.summary.find(key);
  return it == run.summary.end() ? 0.0 : it->second;
}
}  // namespace

void print_table_header(std::FILE* out) {
  std::fprintf(out,
               "#%10s %5s %7s %4s %6s %10s %9s %9s %9s %9s %11s %9s %7s %8s %9s\n", "seq",
               "world", "heads", "hdim", "mask", "layout", "min_ms", "med_ms", "max_ms",
               "TFLOP/s", "tokens/s", "comm_ms", "exp%", "GB/s", "rel_err");
  std::fprintf(out, "#%10s %5s %7s %4s %6s %10s %9s %9s %9s %9s %11s %9s %7s %8s %9s\n", "", "",
               "(q/kv)", "", "", "", "(ranks)", "(ranks)", "(ranks)", "(/rank)", "", "", "", "", "");
}

void print_table_row(std::FILE* out, const RunRecord& run) {
  const std::string heads = config_value(run, "heads") + "/" + config_value(run, "kv-heads");
  char err[16] = "n/a";
  if (run.check) std::snprintf(err, sizeof err, "%.2e", run.check->rel_err);
  std::fprintf(out, " %10s %5d %7s %4s %6s %10s %9.3f %9.3f %9.3f %9.4f %11.4g %9.3f %7.2f %8.3f %9s\n",
               config_value(run, "seq-len").c_str(), run.world_size, heads.c_str(),
               config_value(run, "head-dim").c_str(), config_value(run, "mask").c_str(),
               config_value(run, "layout").c_str(), summary_value(run, "rank_min_ms"),
               summary_value(run, "rank_median_ms"), summary_value(run, "rank_max_ms"),
               summary_value(run, "tflops_per_rank"), summary_value(run, "tokens_per_s"),
               summary_value(run, "comm_ms"), 100.0 * summary_value(run, "exposed_comm_fraction"),
               summary_value(run, "achieved_GBps"), err);
  std::fflush(out);
}

}  // namespace ringbench
