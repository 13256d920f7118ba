// A rank computing on the host: fp32 buffers in memory, the tiled CPU kernel, K/V passed over MPI.
#pragma once

#include <mpi.h>

#include <vector>

#include "core/ProblemSpec.hpp"
#include "distributed/MpiTransport.hpp"
#include "ring/RankBackend.hpp"
#include "ring/cpu/CpuBlockKernel.hpp"
#include "ring/cpu/HostStepTimer.hpp"

namespace ringbench {

// Bytes a CPU rank allocates for a case (checked against free memory before allocating).
std::size_t cpu_rank_bytes(const ProblemSpec& spec, std::int64_t local_len);

class CpuBackend final : public RankBackend {
 public:
  // `threads`: OpenMP threads for the kernel (cores on this node divided among its ranks).
  CpuBackend(const ProblemSpec& spec, std::int64_t local_len, MPI_Comm ring, int threads);

  std::string device_name() const override { return "cpu"; }
  std::string pci_bus_id() const override { return ""; }
  std::size_t allocated_bytes() const override;
  void load_inputs(std::span<const float> q, std::span<const float> k, std::span<const float> v) override;
  const RankBuffers& buffers() const override { return buffers_; }
  BlockKernel& kernel() override { return kernel_; }
  Transport& transport() override { return transport_; }
  StepTimer& timer() override { return timer_; }
  void synchronize() override {}
  AttentionResult read_result() override { return {o_, lse_}; }

 private:
  ProblemSpec spec_;
  std::int64_t n_;
  std::vector<float> q_, kv_local_, kv_recv_[2], o_, lse_;
  RankBuffers buffers_;
  CpuBlockKernel kernel_;
  MpiTransport transport_;
  HostStepTimer timer_;
};

}  // namespace ringbench
