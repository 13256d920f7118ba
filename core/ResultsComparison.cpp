#include "core/ResultsComparison.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace ringbench {

namespace {

// How a case is measured rather than what it measures: left out of the match.
const std::set<std::string>& measurement_keys() {
  static const std::set<std::string> keys = {"warmup",       "iters",     "seed",
                                             "check",        "tolerance", "check-rows",
                                             "dump-tensors", "timeout",   "gpu"};
  return keys;
}

std::string config_value(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return v;
  return "?";
}

// Why a run cannot be compared, or empty when it can.
std::string unusable_reason(const RunRecord& run) {
  if (run.status != "ok")
    return "status " + run.status + (run.error.empty() ? "" : ": " + run.error);
  const auto it = run.summary.find("median_ms");
  if (it == run.summary.end() || !(it->second > 0)) return "no median time recorded";
  return "";
}

// Newest usable run per key, keys in order of first appearance; unusable runs go to `unusable`.
struct Indexed {
  std::vector<std::string> order;
  std::map<std::string, const IdentifiedRun*> newest;
};

Indexed index_runs(const std::vector<IdentifiedRun>& runs, std::vector<UnmatchedCase>& unusable) {
  Indexed out;
  for (const auto& r : runs) {
    if (const std::string why = unusable_reason(r.run); !why.empty()) {
      unusable.push_back({r.id, case_label(r.run), why});
      continue;
    }
    const std::string key = comparison_key(r.run);
    if (!out.newest.count(key)) out.order.push_back(key);
    out.newest[key] = &r;
  }
  return out;
}

}  // namespace

std::string comparison_key(const RunRecord& run) {
  std::string key = "world_size = " + std::to_string(run.world_size) + "\n";
  for (const auto& [k, v] : run.config) {
    // runs before schema 4 have no scheme key, and every one of them was a ring
    if (k == "scheme" && v == "ring") continue;
    if (!measurement_keys().count(k)) key += k + " = " + v + "\n";
  }
  return key;
}

std::string case_label(const RunRecord& run) {
  return "seq " + config_value(run, "seq-len") + ", " + std::to_string(run.world_size) +
         (run.world_size == 1 ? " rank, " : " ranks, ") + config_value(run, "heads") + "/" +
         config_value(run, "kv-heads") + "x" + config_value(run, "head-dim") + ", batch " +
         config_value(run, "batch") + ", " + config_value(run, "mask") + ", " +
         config_value(run, "layout") + ", " + config_value(run, "kernel") + " " +
         config_value(run, "dtype");
}

int Comparison::slower() const {
  return static_cast<int>(std::count_if(matched.begin(), matched.end(), [](const MatchedCase& m) {
    return m.verdict == Verdict::slower;
  }));
}

Comparison compare_runs(const std::vector<IdentifiedRun>& base,
                        const std::vector<IdentifiedRun>& fresh, double threshold) {
  Comparison c;
  const Indexed b = index_runs(base, c.only_base), n = index_runs(fresh, c.only_new);
  for (const auto& key : b.order) {
    const IdentifiedRun& br = *b.newest.at(key);
    const auto it = n.newest.find(key);
    if (it == n.newest.end()) {
      c.only_base.push_back({br.id, case_label(br.run), "no run of this case in NEW"});
      continue;
    }
    MatchedCase m;
    m.label = case_label(br.run);
    m.base_id = br.id;
    m.new_id = it->second->id;
    m.base_ms = br.run.summary.at("median_ms");
    m.new_ms = it->second->run.summary.at("median_ms");
    m.ratio = m.new_ms / m.base_ms;
    if (m.ratio > 1.0 + threshold)
      m.verdict = Verdict::slower;
    else if (m.ratio < 1.0 / (1.0 + threshold))
      m.verdict = Verdict::faster;
    c.matched.push_back(m);
  }
  for (const auto& key : n.order)
    if (!b.newest.count(key)) {
      const IdentifiedRun& nr = *n.newest.at(key);
      c.only_new.push_back({nr.id, case_label(nr.run), "no run of this case in BASE"});
    }
  return c;
}

}  // namespace ringbench
