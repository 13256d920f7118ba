// Refusing a case that does not fit, before allocating: every rank learns whether every rank
// fits, so all refuse together with one message naming what is needed and what is free.
#pragma once

#include "distributed/MpiRuntime.hpp"

namespace ringbench {

// Throws ConfigError on every rank when any rank's `needed` bytes exceed its `available` bytes.
void refuse_unless_all_fit(const MpiRuntime& rt, double needed, double available,
                           const char* where);

}  // namespace ringbench
