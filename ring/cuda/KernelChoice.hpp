// `--kernel auto`: times every GPU kernel that can run the case's shape on a representative
// full block of this GPU and picks the fastest; rank 0's pick is used everywhere.
#pragma once

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

class CudnnSdpa;

// `sdpa` may be null (no cuDNN in this build). Returns flash or cudnn.
KernelKind choose_fastest_kernel(const BenchmarkCase& c, std::int64_t local_len, CudnnSdpa* sdpa,
                                 const MpiRuntime& rt);

}  // namespace ringbench
