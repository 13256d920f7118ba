#include "distributed/MemoryFit.hpp"

#include <cstdio>
#include <string>

#include "core/Error.hpp"
#include "distributed/Collectives.hpp"

namespace ringbench {

namespace {
std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}
}  // namespace

std::string shape_text(const ProblemSpec& shape) {
  std::string text = "seq-len=" + std::to_string(shape.seq_len) +
                     " batch=" + std::to_string(shape.batch) +
                     " heads=" + std::to_string(shape.heads);
  if (shape.effective_kv_heads() != shape.heads)
    text += " kv-heads=" + std::to_string(shape.effective_kv_heads());
  return text + " head-dim=" + std::to_string(shape.head_dim);
}

void refuse_unless_all_fit(const MpiRuntime& rt, double needed, double available, const char* where,
                           const ProblemSpec& shape) {
  const double worst_available = -max_all(rt.world(), -available);
  const double worst_needed = max_all(rt.world(), needed);
  if (!all_true(rt.world(), needed <= available))
    throw ConfigError("case", shape_text(shape),
                      std::string("a case that fits in ") + where + ": it needs " +
                          gib(worst_needed) + " per rank, the rank with the least has " +
                          gib(worst_available) + " free");
}

}  // namespace ringbench
