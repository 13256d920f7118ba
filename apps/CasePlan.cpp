#include "apps/CasePlan.hpp"

#include <algorithm>
#include <charconv>

#include "core/Error.hpp"

namespace ringbench {

std::string_view to_string(ScalingRole role) {
  switch (role) {
    case ScalingRole::none:
      return "";
    case ScalingRole::base:
      return "base";
    case ScalingRole::strong:
      return "strong";
    case ScalingRole::weak:
      return "weak";
  }
  return "";
}

namespace {

std::int64_t parse_positive(const std::string& key, const std::string& text,
                            const std::string& allowed) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0)
    throw ConfigError(key, text, allowed);
  return value;
}

}  // namespace

ScalingRequest parse_scaling(const std::vector<std::string>& ranks, const std::string& scaling,
                             int world) {
  ScalingRequest r;
  const std::string allowed =
      "ring sizes from 1 to the number of ranks (" + std::to_string(world) + "), or all";
  for (const auto& item : ranks) {
    const std::int64_t n = item == "all" ? world : parse_positive("ranks", item, allowed);
    if (n < 1 || n > world) throw ConfigError("ranks", item, allowed);
    r.ranks.push_back(static_cast<int>(n));
  }
  std::sort(r.ranks.begin(), r.ranks.end());
  r.ranks.erase(std::unique(r.ranks.begin(), r.ranks.end()), r.ranks.end());
  if (scaling == "strong")
    r.weak = false;
  else if (scaling == "weak")
    r.strong = false;
  else if (scaling != "both")
    throw ConfigError("scaling", scaling, "strong, weak, both");
  return r;
}

std::int64_t BatchRule::batch_for(std::int64_t seq_len) const {
  if (!automatic) return fixed;
  return std::max<std::int64_t>(1, tokens_per_step / seq_len);
}

BatchRule parse_batch_rule(const std::string& batch, const std::string& tokens_per_step,
                           const std::vector<std::int64_t>& seq_lens) {
  BatchRule rule;
  const std::int64_t tokens = parse_positive("tokens-per-step", tokens_per_step,
                                             "a token count, or 0 for the largest seq-len");
  if (batch != "auto") {
    rule.fixed = parse_positive("batch", batch, "a positive integer, or auto");
    if (rule.fixed < 1) throw ConfigError("batch", batch, "a positive integer, or auto");
    if (tokens != 0) throw ConfigError("tokens-per-step", tokens_per_step, "0 unless batch = auto");
    return rule;
  }
  rule.automatic = true;
  rule.tokens_per_step = tokens != 0 ? tokens : *std::max_element(seq_lens.begin(), seq_lens.end());
  return rule;
}

void add_placed_cases(const BenchmarkCase& c, const ScalingRequest& scaling, int world,
                      std::vector<BenchmarkCase>& cases, std::vector<CasePlacement>& placements) {
  auto add = [&](BenchmarkCase placed, int ranks, ScalingRole role, std::size_t base) {
    validate(placed, ranks);
    cases.push_back(placed);
    placements.push_back({ranks, role, base});
  };
  if (!scaling.series()) {
    add(c, scaling.ranks.empty() ? world : scaling.ranks.front(), ScalingRole::none, cases.size());
    return;
  }
  const int fewest = scaling.ranks.front();
  const std::size_t base = cases.size();
  add(c, fewest, ScalingRole::base, base);
  for (int ranks : scaling.ranks) {
    if (ranks == fewest) continue;
    if (scaling.strong) add(c, ranks, ScalingRole::strong, base);
    if (scaling.weak) {
      BenchmarkCase weak = c;  // the baseline's tokens per rank (it divides: validated above)
      weak.spec.seq_len = c.spec.seq_len / fewest * ranks;
      add(weak, ranks, ScalingRole::weak, base);
    }
  }
}

}  // namespace ringbench
