// The work and traffic of every timed step of one rank's ring schedule: the FLOPs its kernel does
// (exact allowed pairs, core/FlopCount) and the bytes it sends. The run records them beside the
// step times, and `ringbench plan` predicts step times from the same numbers.
#pragma once

#include <cstddef>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "ring/RingSchedule.hpp"

namespace ringbench {

// Per timed step: the forward's steps, then the backward's (a pass the case does not time has
// none).
struct StepWork {
  std::vector<double> bytes, flops;
};

// One step of one pass: what the kernel computes and what the rank sends. `whole`: every box of
// (query run, key run) is allowed whole or not at all, so the kernel runs dense tiles only (a
// zigzag causal ring's off-diagonal steps); otherwise some tiles are masked (`plan` prices the two
// kinds from different curves).
struct StepCost {
  double bytes = 0, flops = 0;
  bool whole = false;
};
// `kv_bytes`: one K/V block as it travels; `dkv_bytes`: its fp32 dK/dV in the backward.
// `scheme`: a gathering scheme's forward sends every block round the whole ring, whole (the plain
// all-gather all of it at step 0).
StepCost step_cost(const RingSchedule& schedule, int step, bool backward, const ProblemSpec& spec,
                   std::size_t kv_bytes, std::size_t dkv_bytes,
                   SchemeKind scheme = SchemeKind::ring);

// Every timed step of the case's passes.
StepWork schedule_work(const BenchmarkCase& c, const RingSchedule& schedule, std::size_t kv_bytes,
                       std::size_t dkv_bytes);

// Whether every (query run, key run) box of the step is allowed whole or not at all, in every
// head of the pattern's period and every branch.
bool whole_boxes(const BlockMask& m, std::int64_t heads);

}  // namespace ringbench
