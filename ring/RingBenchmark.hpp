// The benchmark harness for one case: builds the rank's backend, fills inputs from the seeded
// generator, runs warm-up and timed ring iterations, checks against the float64 reference, and
// gathers everything into a RunRecord on rank 0. Collective over the runtime's world.
#pragma once

#include <memory>

#include "core/BenchmarkCase.hpp"
#include "core/RunRecord.hpp"
#include "core/SequenceLayout.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/RankBackend.hpp"

namespace ringbench {

// Creates the backend for the case's device; refuses (ConfigError, agreed by every rank) a case
// that does not fit in this rank's memory, naming what it needs and what is free.
std::unique_ptr<RankBackend> make_backend(const BenchmarkCase& c, const SequenceLayout& layout,
                                          const MpiRuntime& runtime);

struct BenchmarkOutcome {
  RunRecord record;            // complete on rank 0; other ranks hold their own part only
  bool check_failed = false;   // the same on every rank
};

BenchmarkOutcome run_ring_benchmark(const BenchmarkCase& c, const MpiRuntime& runtime);

}  // namespace ringbench
