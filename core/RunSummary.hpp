// Derived numbers of a run, computed from its per-rank, per-step timings (see README for the
// definitions): what the result table prints and the results file stores under summary/.
#pragma once

#include <cstdint>

#include "core/RunRecord.hpp"

namespace ringbench {

// Fills run.summary from run's timing arrays. `flops` is the whole problem's FLOPs of the timed
// pass(es) (the backward counted as 2.5 x the forward), `tokens` the tokens it processes (batch x
// sequence length). Each pass in run.passes adds its own fwd_* or bwd_* times and TFLOP/s.
void summarize_run(RunRecord& run, double flops, std::int64_t tokens);

}  // namespace ringbench
