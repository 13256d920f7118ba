// One rank's execution resources for a case: its buffers, block kernel, transport and timer. The
// ring algorithm and the benchmark harness use only this interface; CpuBackend and the CUDA
// backend implement it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/ReferenceAttention.hpp"
#include "distributed/Transport.hpp"
#include "ring/BlockKernel.hpp"
#include "ring/StepTimer.hpp"

namespace ringbench {

struct RankBuffers {
  const void* q = nullptr;
  const void* kv_local = nullptr;
  void* kv_recv[2] = {nullptr, nullptr};  // double buffer: one being read, one being received
  std::size_t kv_bytes = 0;               // one packed K/V block
  float* o = nullptr;
  float* lse = nullptr;
};

class RankBackend {
 public:
  virtual ~RankBackend() = default;
  virtual std::string device_name() const = 0;
  virtual std::string pci_bus_id() const = 0;
  virtual std::size_t allocated_bytes() const = 0;  // everything this rank holds for the case

  // Host inputs in float (already rounded to the case's dtype): q [B,H,n,D], k and v [B,Hkv,n,D].
  virtual void load_inputs(std::span<const float> q, std::span<const float> k,
                           std::span<const float> v) = 0;
  virtual const RankBuffers& buffers() const = 0;
  virtual BlockKernel& kernel() = 0;
  virtual Transport& transport() = 0;
  virtual StepTimer& timer() = 0;
  virtual void synchronize() = 0;             // all queued work of this rank has completed
  virtual AttentionResult read_result() = 0;  // the running O and LSE, as host floats
};

}  // namespace ringbench
