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

void refuse_unless_all_fit(const MpiRuntime& rt, double needed, double available,
                           const char* where) {
  const double worst_available = -max_all(rt.world(), -available);
  const double worst_needed = max_all(rt.world(), needed);
  if (!all_true(rt.world(), needed <= available))
    throw ConfigError("seq-len", "(this case)",
                      std::string("a case that fits in ") + where + ": a rank needs " +
                          gib(worst_needed) + ", the fullest rank has " + gib(worst_available) +
                          " free");
}

}  // namespace ringbench
