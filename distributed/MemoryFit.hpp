// Refusing a case that does not fit, before allocating: every rank learns whether every rank
// fits, so all refuse together with one message naming what is needed and what is free.
#pragma once

#include <string>

#include "core/ProblemSpec.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

// Throws ConfigError on every rank when any rank's `needed` bytes exceed its `available` bytes
// in `where` ("host memory"). The message names the case by `shape`: any of its sizes may be what
// made it too big, so none of them is blamed alone.
void refuse_unless_all_fit(const MpiRuntime& rt, double needed, double available, const char* where,
                           const ProblemSpec& shape);

// "seq-len=65536 batch=1 heads=32 kv-heads=8 head-dim=128" (kv-heads only with GQA).
std::string shape_text(const ProblemSpec& shape);

}  // namespace ringbench
