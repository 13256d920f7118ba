// Checking the backward pass: every rank compares its own dQ rows and the dK, dV of its own keys
// with the float64 reference (core/ReferenceBackward), rebuilt on the host from the seeded
// generator, or, for problems past the host's reach where every rank has one, with its backend's
// fp32 device reference (the GPU's: ring/cuda/GradientReference). The ranks exchange only the
// reference's row statistics (log-sum-exp and D of every query), so each rank's share of the
// reference costs O(local tokens x sequence length).
#pragma once

#include <vector>

#include "core/BenchmarkCase.hpp"
#include "core/RunRecord.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/BackendFactory.hpp"

namespace ringbench {

// Relative Frobenius errors of dQ, dK and dV over the whole problem; the same on every rank.
// Collective over rt.world().
GradientErrors check_gradients(const BenchmarkCase& c, const SequenceLayout& layout,
                               const MpiRuntime& rt, std::vector<LocalRank>& locals);

}  // namespace ringbench
