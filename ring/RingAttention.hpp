// The ring attention forward pass, written once for every device and scheme: each step computes
// on the block in hand while the transport passes it on and brings in the next one (the
// all-gather schemes pass the same blocks over the same links, keeping them all).
#pragma once

#include "core/BenchmarkCase.hpp"
#include "ring/RankBackend.hpp"
#include "ring/RingSchedule.hpp"

namespace ringbench {

// One full forward pass of this rank: leaves the normalized output and LSE in the backend's
// buffers and returns the step timings (after the backend has synchronised). `scheme`: the ring,
// or a gathering scheme (every block passed round the whole ring into a slot of its own; the
// backend holds a receive buffer per other rank).
IterationTiming ring_attention_forward(const RingSchedule& schedule, RankBackend& backend,
                                       SchemeKind scheme = SchemeKind::ring);

}  // namespace ringbench
