// Where each case runs and how the cases of a sweep relate: scaling series (--ranks 1,2,4) and
// the automatic batch size (--batch auto). Kept apart from option parsing so the rules can be
// read, and tested, in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/BenchmarkCase.hpp"

namespace ringbench {

// How a case takes part in a scaling series: the baseline on the fewest ranks, the same total
// sequence on more ranks (strong scaling), or the same tokens per rank on more ranks (weak).
enum class ScalingRole { none, base, strong, weak };
std::string_view to_string(ScalingRole role);

// Where a case runs: on the first `ranks` ranks of the job (a sub-ring when fewer than all).
struct CasePlacement {
  int ranks = 1;
  ScalingRole role = ScalingRole::none;
  std::size_t base = 0;  // index of the series' baseline among the cases
};

// The ring sizes to run every case on, from the `ranks` and `scaling` keys.
struct ScalingRequest {
  std::vector<int> ranks;  // ascending, distinct, each 1..world
  bool strong = true;
  bool weak = true;
  bool series() const { return ranks.size() > 1; }
};

// `ranks` items ("1", "2,4", "all"), each at most `world`; `scaling`: strong, weak or both.
// Throws ConfigError naming the key.
ScalingRequest parse_scaling(const std::vector<std::string>& ranks, const std::string& scaling,
                             int world);

// The batch rule: a fixed batch, or `auto` = tokens-per-step / seq-len (at least 1), so every
// sequence length processes about the same tokens per step. tokens-per-step 0 means the largest
// sequence length of the sweep (which then runs with batch 1).
struct BatchRule {
  bool automatic = false;
  std::int64_t fixed = 1;
  std::int64_t tokens_per_step = 0;
  std::int64_t batch_for(std::int64_t seq_len) const;
};
BatchRule parse_batch_rule(const std::string& batch, const std::string& tokens_per_step,
                           const std::vector<std::int64_t>& seq_lens);

// Appends `c` on every ring size of `scaling` (or on the whole world when there is no series):
// the baseline first, then the strong and the weak cases; each validated for its ring size.
void add_placed_cases(const BenchmarkCase& c, const ScalingRequest& scaling, int world,
                      std::vector<BenchmarkCase>& cases, std::vector<CasePlacement>& placements);

}  // namespace ringbench
