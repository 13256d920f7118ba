// One flat record per benchmark case, for notebooks and other suites: a superset of the JSON
// records long-context attention benchmarks write (block_name, sequence_length, batch_size,
// forward_time_mean/std/min/max, peak_memory_mb, throughput_tokens_per_sec,
// memory_efficiency_mb_per_token, config), as JSON (a list of objects) or CSV (one row each).
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/RunRecord.hpp"

namespace ringbench {

// null (not measured, e.g. backward times), number, integer, flag or text.
using ExportValue = std::variant<std::monostate, double, long long, bool, std::string>;

struct ExportRecord {
  std::vector<std::pair<std::string, ExportValue>> fields;      // in output order
  std::vector<std::pair<std::string, ExportValue>> config;      // every config key, typed
  std::vector<std::pair<std::string, ExportValue>> provenance;  // hosts, devices, versions
};

// The record of run `id` of a results file. Times are in ms, memory in MiB (2^20 bytes, what
// such suites call MB), throughput in tokens/s.
ExportRecord export_record(const std::string& id, const RunRecord& run);

// A config value as its natural JSON type: "4096" -> integer, "0.125" -> number,
// "true" -> flag, anything else text.
ExportValue typed_config_value(const std::string& text);

// JSON: a list of objects with "config" and "provenance" nested. CSV: one header line, then one
// line per record; nested keys become "config.<key>" and "provenance.<key>" columns, null an
// empty cell; fields holding a comma, quote or line break are quoted (RFC 4180).
void write_export_json(const std::vector<ExportRecord>& records, std::ostream& out);
void write_export_csv(const std::vector<ExportRecord>& records, std::ostream& out);

}  // namespace ringbench
