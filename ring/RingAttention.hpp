// The ring attention forward pass, written once for every device: each step computes on the
// block in hand while the transport passes it on and brings in the next one.
#pragma once

#include "ring/RankBackend.hpp"
#include "ring/RingSchedule.hpp"

namespace ringbench {

// One full forward pass of this rank: leaves the normalized output and LSE in the backend's
// buffers and returns the step timings (after the backend has synchronised).
IterationTiming ring_attention_forward(const RingSchedule& schedule, RankBackend& backend);

}  // namespace ringbench
