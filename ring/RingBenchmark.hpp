// The benchmark harness for one case: builds the rank's backend, fills inputs from the seeded
// generator, runs warm-up and timed ring iterations, checks against the float64 reference, and
// gathers everything into a RunRecord on rank 0. Collective over the runtime's world.
#pragma once

#include "core/BenchmarkCase.hpp"
#include "core/RunRecord.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

struct BenchmarkOutcome {
  RunRecord record;           // complete on rank 0; other ranks hold their own part only
  bool check_failed = false;  // the same on every rank
};

BenchmarkOutcome run_ring_benchmark(const BenchmarkCase& c, const MpiRuntime& runtime);

}  // namespace ringbench
