// The MPI runtime of the multi-rank test executable (created in its main).
#pragma once

#include "distributed/Collectives.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench::test {
const MpiRuntime& runtime();
}  // namespace ringbench::test
