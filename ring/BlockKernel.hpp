// Attention of this rank's queries against one K/V block, merged into the running result.
// Implementations: CpuBlockKernel (host, fp32), and the CUDA kernels. Buffers live wherever the
// backend keeps them (host or device); the kernel knows which.
#pragma once

#include <string>

#include "ring/BlockMask.hpp"

namespace ringbench {

class BlockKernel {
 public:
  virtual ~BlockKernel() = default;
  virtual std::string name() const = 0;
  // Empties the running result: lse = -inf everywhere (o is then ignored).
  virtual void reset(float* o, float* lse) = 0;
  // q: [batch, heads, rows, head_dim]; kv: packed K then V, each [batch, kv_heads, rows, head_dim];
  // o, lse: the running normalized output and log-sum-exp, fp32, updated by the softmax merge.
  virtual void attend(const void* q, const void* kv, const BlockMask& mask, float* o,
                      float* lse) = 0;
};

}  // namespace ringbench
