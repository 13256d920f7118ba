#include "core/ResultsExport.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/JsonWriter.hpp"

namespace ringbench {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string config_text(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return v;
  return "";
}

ExportValue summary_value(const RunRecord& run, const std::string& key, double scale = 1.0) {
  const auto it = run.summary.find(key);
  if (it == run.summary.end()) return std::monostate{};
  return it->second * scale;
}

ExportValue config_integer(const RunRecord& run, const std::string& key) {
  const ExportValue v = typed_config_value(config_text(run, key));
  return std::holds_alternative<long long>(v) ? v : ExportValue{};
}

// The largest device memory in use on any rank at the end of the run (GPU telemetry); null on
// CPU ranks, which report none.
ExportValue device_memory_used_mb(const RunRecord& run) {
  const auto it = run.telemetry.find("memory_used_bytes");
  if (it == run.telemetry.end()) return std::monostate{};
  double most = -1;
  for (std::size_t i = 1; i < it->second.size(); i += 2)  // [ranks][start, end]
    if (std::isfinite(it->second[i])) most = std::max(most, it->second[i]);
  if (most < 0) return std::monostate{};
  return most / kMiB;
}

// Iteration statistics under the suites' names: forward and backward from each timed pass's own
// times (fwd_*, bwd_*; null for a pass the run did not time), total from the whole iteration.
// Version-1 runs timed the forward only and have no fwd_* keys: their forward is the total.
void add_times(std::vector<std::pair<std::string, ExportValue>>& f, const RunRecord& run) {
  const std::pair<const char*, const char*> stats[] = {{"mean", "mean_ms"},     {"std", "std_ms"},
                                                       {"min", "min_ms"},       {"max", "max_ms"},
                                                       {"median", "median_ms"}, {"p95", "p95_ms"}};
  const bool per_pass = run.summary.count("fwd_median_ms") || run.summary.count("bwd_median_ms");
  for (const auto& [name, key] : stats)
    f.emplace_back(std::string("forward_time_") + name,
                   summary_value(run, per_pass ? std::string("fwd_") + key : std::string(key)));
  for (const auto& [name, key] : stats)
    f.emplace_back(std::string("backward_time_") + name,
                   summary_value(run, std::string("bwd_") + key));
  for (const auto& [name, key] : stats)
    f.emplace_back(std::string("total_time_") + name, summary_value(run, key));
}

void add_check(std::vector<std::pair<std::string, ExportValue>>& f, const RunRecord& run) {
  if (run.check) {
    f.emplace_back("check_rel_err", run.check->rel_err);
    f.emplace_back("check_tolerance", run.check->tolerance);
    f.emplace_back("check_passed", run.check->passed);
    f.emplace_back("check_rows", static_cast<long long>(run.check->rows));  // 0: every row
  } else {
    f.emplace_back("check_rel_err", std::monostate{});
    f.emplace_back("check_tolerance", std::monostate{});
    f.emplace_back("check_passed", std::monostate{});
    f.emplace_back("check_rows", std::monostate{});
  }
  const std::optional<GradientErrors> g = run.check ? run.check->gradients : std::nullopt;
  f.emplace_back("check_dq_rel_err", g ? ExportValue{g->dq_rel_err} : ExportValue{});
  f.emplace_back("check_dk_rel_err", g ? ExportValue{g->dk_rel_err} : ExportValue{});
  f.emplace_back("check_dv_rel_err", g ? ExportValue{g->dv_rel_err} : ExportValue{});
}

void write_json_value(JsonWriter& j, const ExportValue& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          j.null();
        else if constexpr (std::is_same_v<T, std::string>)
          j.value(std::string_view(x));
        else
          j.value(x);
      },
      v);
}

void write_json_object(JsonWriter& j,
                       const std::vector<std::pair<std::string, ExportValue>>& fields) {
  j.begin_object();
  for (const auto& [k, v] : fields) {
    j.key(k);
    write_json_value(j, v);
  }
  j.end_object();
}

std::string csv_cell(const ExportValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>)
          return std::isfinite(x) ? json_number(x) : "";
        else if constexpr (std::is_same_v<T, long long>)
          return std::to_string(x);
        else
          return x;
      },
      v);
}

std::string csv_quote(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// Every record's cells by column name; columns in the order they first appear.
std::vector<std::pair<std::string, ExportValue>> flatten(const ExportRecord& r) {
  std::vector<std::pair<std::string, ExportValue>> cells = r.fields;
  for (const auto& [k, v] : r.config) cells.emplace_back("config." + k, v);
  for (const auto& [k, v] : r.provenance) cells.emplace_back("provenance." + k, v);
  return cells;
}

}  // namespace

ExportValue typed_config_value(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  const char* end = text.data() + text.size();
  long long integer = 0;
  auto [ip, iec] = std::from_chars(text.data(), end, integer);
  if (!text.empty() && iec == std::errc() && ip == end) return integer;
  double number = 0;
  auto [dp, dec] = std::from_chars(text.data(), end, number);
  if (!text.empty() && dec == std::errc() && dp == end && std::isfinite(number)) return number;
  return text;
}

ExportRecord export_record(const std::string& id, const RunRecord& run) {
  ExportRecord r;
  auto& f = r.fields;
  f.emplace_back("run_id", id);
  f.emplace_back("block_name",
                 "ring_" + config_text(run, "kernel") + "_" + config_text(run, "layout"));
  f.emplace_back("status", run.status);
  f.emplace_back("sequence_length", config_integer(run, "seq-len"));
  f.emplace_back("batch_size", config_integer(run, "batch"));
  f.emplace_back("world_size", static_cast<long long>(run.world_size));
  f.emplace_back("mask", config_text(run, "mask"));          // the pattern's spec
  f.emplace_back("density", summary_value(run, "density"));  // allowed pairs / S² per head
  f.emplace_back("layout", config_text(run, "layout"));
  f.emplace_back("kernel", config_text(run, "kernel"));
  f.emplace_back("device", config_text(run, "device"));
  f.emplace_back("dtype", config_text(run, "dtype"));
  f.emplace_back("pass", config_text(run, "pass"));
  f.emplace_back("iterations", static_cast<long long>(run.iterations));
  add_times(f, run);
  // ringbench allocates every buffer before the timed iterations, so peak and allocated memory
  // are one number: the largest rank's own allocations.
  f.emplace_back("peak_memory_mb", summary_value(run, "peak_mem_bytes", 1.0 / kMiB));
  f.emplace_back("allocated_memory_mb", summary_value(run, "peak_mem_bytes", 1.0 / kMiB));
  f.emplace_back("device_memory_used_mb", device_memory_used_mb(run));
  f.emplace_back("throughput_tokens_per_sec", summary_value(run, "tokens_per_s"));
  f.emplace_back("memory_efficiency_mb_per_token",
                 summary_value(run, "bytes_per_token", 1.0 / kMiB));
  f.emplace_back("tflops_per_gpu", summary_value(run, "tflops_per_rank"));
  f.emplace_back("forward_tflops_per_gpu", summary_value(run, "fwd_tflops_per_rank"));
  f.emplace_back("backward_tflops_per_gpu", summary_value(run, "bwd_tflops_per_rank"));
  f.emplace_back("flops", summary_value(run, "flops"));
  f.emplace_back("exposed_comm_fraction", summary_value(run, "exposed_comm_fraction"));
  for (const char* key :
       {"compute_ms", "comm_ms", "wait_ms", "achieved_GBps", "bytes_sent_per_rank",
        "compute_imbalance", "rank_min_ms", "rank_median_ms", "rank_max_ms", "wall_median_ms"})
    f.emplace_back(key, summary_value(run, key));
  // an emulated ring: its size, what was played and sampled (0 for a resident ring)
  for (const char* key : {"emulated", "ring_size", "members_played", "sampled_steps",
                          "one_gpu_total_ms", "one_gpu_tflops"})
    f.emplace_back(key, summary_value(run, key));
  // the GPUs' energy over the timed iterations (null without an energy counter)
  for (const char* key : {"energy_j", "joules_per_tflop", "avg_power_w"})
    f.emplace_back(key, summary_value(run, key));
  add_check(f, run);
  for (const auto& [k, v] : run.config) r.config.emplace_back(k, typed_config_value(v));
  for (const auto& [k, v] : run.provenance) r.provenance.emplace_back(k, v);
  return r;
}

void write_export_json(const std::vector<ExportRecord>& records, std::ostream& out) {
  JsonWriter j(out);
  j.begin_array();
  for (const auto& r : records) {
    j.newline().begin_object();
    for (const auto& [k, v] : r.fields) {
      j.key(k);
      write_json_value(j, v);
    }
    j.key("config");
    write_json_object(j, r.config);
    j.key("provenance");
    write_json_object(j, r.provenance);
    j.end_object();
  }
  j.newline().end_array();
  out << '\n';
}

void write_export_csv(const std::vector<ExportRecord>& records, std::ostream& out) {
  std::vector<std::string> columns;
  std::vector<std::vector<std::pair<std::string, ExportValue>>> rows;
  for (const auto& r : records) {
    rows.push_back(flatten(r));
    for (const auto& [name, v] : rows.back())
      if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
  }
  for (std::size_t c = 0; c < columns.size(); ++c) out << (c ? "," : "") << csv_quote(columns[c]);
  out << '\n';
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const auto it = std::find_if(row.begin(), row.end(),
                                   [&](const auto& cell) { return cell.first == columns[c]; });
      out << (c ? "," : "") << (it == row.end() ? "" : csv_quote(csv_cell(it->second)));
    }
    out << '\n';
  }
}

}  // namespace ringbench
