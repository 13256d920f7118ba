// Regression check of one results file against a baseline: cases are matched by what they
// measure (the configuration without iteration counts, seed, check settings, timeout or GPU
// ordinal, plus the world size), their median iteration times compared, and a case counts as
// slower when new / base exceeds 1 + threshold (such suites use 20 %).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/RunRecord.hpp"

namespace ringbench {

struct IdentifiedRun {
  std::string id;  // run id in its results file
  RunRecord run;
};

// The configuration two runs must share to be compared ("key = value" lines).
std::string comparison_key(const RunRecord& run);

// A short human label of a run's case: "seq 4096, 4 ranks, 4/4x64, causal, zigzag, cpu fp32".
std::string case_label(const RunRecord& run);

enum class Verdict { same, slower, faster };

struct MatchedCase {
  std::string label;
  std::string base_id, new_id;  // the newest run of the case in each file
  double base_ms = 0, new_ms = 0;
  double ratio = 0;  // new / base
  Verdict verdict = Verdict::same;
};

struct UnmatchedCase {
  std::string id, label;
  std::string reason;  // "no such case in NEW", "failed: <error>", ...
};

struct Comparison {
  std::vector<MatchedCase> matched;
  std::vector<UnmatchedCase> only_base, only_new;
  int slower() const;
};

// Runs whose status is not ok, or that lack a median time, are listed as unmatched with why.
// When a file holds a case several times, its newest run (the last one given) is compared.
Comparison compare_runs(const std::vector<IdentifiedRun>& base,
                        const std::vector<IdentifiedRun>& fresh, double threshold);

}  // namespace ringbench
