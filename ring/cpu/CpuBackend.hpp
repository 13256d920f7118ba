// A rank computing on the host: fp32 buffers in memory, the tiled CPU kernels, K/V passed over MPI.
#pragma once

#include <mpi.h>

#include <memory>
#include <vector>

#include "core/ProblemSpec.hpp"
#include "ring/RankBackend.hpp"
#include "ring/cpu/CpuBackwardKernel.hpp"
#include "ring/cpu/CpuBlockKernel.hpp"
#include "ring/cpu/HostStepTimer.hpp"

namespace ringbench {

class CpuBackend final : public RankBackend {
 public:
  // `threads`: OpenMP threads for the kernels (cores on this node divided among its ranks).
  // `backward`: also allocate the backward pass's buffers; its blocks travel on
  // `backward_transport`, or on `transport` when that is null (real ranks: the same ring).
  // `received_blocks`: receive buffers (2 for the ring; a gathering scheme's P - 1).
  CpuBackend(const ProblemSpec& spec, std::int64_t local_len, std::unique_ptr<Transport> transport,
             int threads, bool backward = false,
             std::unique_ptr<Transport> backward_transport = nullptr, int received_blocks = 2);

  std::string device_name() const override { return "cpu"; }
  std::string pci_bus_id() const override { return ""; }
  std::size_t allocated_bytes() const override;
  void generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) override;
  const RankBuffers& buffers() const override { return buffers_; }
  BlockKernel& kernel() override { return kernel_; }
  Transport& transport() override { return *transport_; }
  StepTimer& timer() override { return timer_; }
  void synchronize() override {}
  AttentionResult read_result() override { return {o_, lse_}; }
  std::int64_t rows_per_head() const override { return n_; }
  std::int64_t head_dim() const override { return spec_.head_dim; }
  ErrorSums compare_with_reference(std::uint64_t seed) override;
  BlockBackwardKernel& backward_kernel() override;
  Transport& backward_transport() override;
  Transport* outer_transport() override { return outer_.get(); }
  Transport* outer_accumulator_transport() override { return outer_accumulators_.get(); }
  // A double ring's outer links (the accumulators' null without a backward pass).
  void set_outer_links(std::unique_ptr<Transport> blocks, std::unique_ptr<Transport> accumulators) {
    outer_ = std::move(blocks);
    outer_accumulators_ = std::move(accumulators);
  }
  GradientResult read_gradients() override;

  Inputs inputs() override {
    return {q_.data(), kv_local_.data(), backward_ ? d_o_.data() : nullptr};
  }

 private:
  ProblemSpec spec_;
  std::int64_t n_;
  bool backward_ = false;
  // kv_local_ and kv_recv_ hold K, V and, with the backward pass, the block's dK, dV after them
  std::vector<float> q_, kv_local_;
  std::vector<std::vector<float>> kv_recv_;  // received_blocks of them
  std::vector<float> o_, lse_;
  std::vector<float> d_o_, dq_, delta_, dkv_part_, dkv_home_;  // the backward pass
  RankBuffers buffers_;
  CpuBlockKernel kernel_;
  CpuBackwardKernel backward_kernel_;
  std::unique_ptr<Transport> transport_, backward_transport_;
  std::unique_ptr<Transport> outer_, outer_accumulators_;  // a double ring's outer ring
  std::vector<std::int64_t> positions_;
  HostStepTimer timer_;
};

}  // namespace ringbench
