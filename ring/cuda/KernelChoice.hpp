// `--kernel auto`: times every GPU kernel that can run the case's shape on a representative
// full block of this GPU and picks the fastest, for the forward and (when the case has one) the
// backward separately; rank 0's picks are used everywhere.
#pragma once

#include <cstdint>

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

class CudnnSdpa;

struct KernelPicks {
  KernelKind forward = KernelKind::flash;
  KernelKind backward = KernelKind::flash;
};

// `sdpa` may be null (no cuDNN in this build, or no cuDNN for this case's masks): flash then.
// `cudnn_backward`: cuDNN's backward is a candidate (its shape is supported).
KernelPicks choose_fastest_kernels(const BenchmarkCase& c, std::int64_t local_len, CudnnSdpa* sdpa,
                                   bool cudnn_backward, const MpiRuntime& rt);

}  // namespace ringbench
