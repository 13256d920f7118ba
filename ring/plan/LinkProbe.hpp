// The link half of `ringbench calibrate`: times exchanges of growing size over the transport a
// case's ring uses (MPI or NCCL between ranks; host or device copies between the virtual ranks of
// one process), with nothing computing beside them.
#pragma once

#include <cstddef>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/plan/Calibration.hpp"

namespace ringbench {

// Collective. `c` is a ring case whose K/V block is at least the largest of `sizes` (bytes); each
// size is exchanged `repeats` times after two untimed ones and its median kept. Complete on rank 0.
std::vector<LinkSample> probe_links(const BenchmarkCase& c, const MpiRuntime& rt,
                                    const std::vector<std::size_t>& sizes, int repeats);

}  // namespace ringbench
