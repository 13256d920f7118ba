// A rank computing on one GPU: bf16/fp16 Q and K/V blocks and the fp32 running result in device
// memory, the block kernel on a compute stream, K/V moving on the transport's own stream (virtual
// ranks' backward: copies on the compute stream, DeviceRelayTransport). With a
// backward pass also dO, the fp32 dQ and the travelling fp32 dK/dV accumulators (RankBuffers).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "distributed/cuda/GpuDevice.hpp"
#include "distributed/cuda/NcclCommunicator.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/RankBackend.hpp"
#include "ring/cuda/CudaBlockKernel.hpp"
#include "ring/cuda/CudaStepTimer.hpp"
#include "ring/cuda/GpuTelemetry.hpp"
#include "ring/cuda/GradientReference.hpp"

namespace ringbench {

// How a CudaBackend gets its kernels and transports, each made on the backend's compute stream.
struct CudaRankParts {
  using TransportFactory = std::function<std::unique_ptr<Transport>(cudaStream_t compute)>;
  using KernelFactory = std::function<std::unique_ptr<BlockKernel>(cudaStream_t compute)>;
  using BackwardKernelFactory =
      std::function<std::unique_ptr<BlockBackwardKernel>(cudaStream_t compute)>;
  KernelFactory kernel;
  BackwardKernelFactory backward_kernel;  // null for a forward-only case
  std::size_t kernel_bytes = 0;  // what the kernels hold beyond the plan (cuDNN scratch/workspace)
  TransportFactory transport;
  TransportFactory backward_transport;  // null: the backward moves its blocks on `transport`
  // a double ring's outer ring (null for other schemes; the accumulators' without a backward)
  TransportFactory outer_transport, outer_accumulator_transport;
  std::shared_ptr<NcclCommunicator> comm;  // may be null; polled for errors while waiting
  RankRole role = RankRole::resident;      // where its blocks come from (MemoryPlan)
};

class CudaBackend final : public RankBackend {
 public:
  CudaBackend(const BenchmarkCase& c, std::int64_t local_len, int steps, const GpuInfo& gpu,
              const CudaRankParts& parts);

  std::string device_name() const override { return gpu_.name; }
  std::string pci_bus_id() const override { return gpu_.pci_bus_id; }
  std::size_t allocated_bytes() const override {
    return plan_device_rank(case_, n_, role_).buffers() + kernel_bytes_;
  }
  void generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) override;
  const RankBuffers& buffers() const override { return buffers_; }
  Inputs inputs() override {
    return {q_.get(), kv_local_.get(), d_o_.bytes() ? d_o_.get() : nullptr};
  }
  BlockKernel& kernel() override { return *kernel_; }
  Transport& transport() override { return *transport_; }
  StepTimer& timer() override { return timer_; }
  void synchronize() override;
  AttentionResult read_result() override;
  AttentionResult read_rows(std::span<const std::int64_t> local) override;
  std::int64_t rows_per_head() const override { return n_; }
  std::int64_t head_dim() const override { return case_.spec.head_dim; }
  ErrorSums compare_with_reference(std::uint64_t seed) override;
  bool has_device_reference() const override { return true; }
  RowStats device_reference_row_stats(std::uint64_t seed) override;
  GradientSums compare_gradients_on_device(std::uint64_t seed, const RowStats& all) override;
  // Throw ConfigError("pass", ...) for a forward-only case (nothing was allocated for them).
  BlockBackwardKernel& backward_kernel() override;
  Transport& backward_transport() override;
  Transport* outer_transport() override { return outer_.get(); }
  Transport* outer_accumulator_transport() override { return outer_accumulators_.get(); }
  GradientResult read_gradients() override;
  std::map<std::string, double> telemetry() override;
  std::optional<double> energy_j() override { return nvml_.energy_j(); }
  std::map<std::string, std::string> provenance() const override;

 private:
  // The reference's O and LSE of this rank's rows over the whole key sequence.
  void reference_forward(std::uint64_t seed, float* ref_o, float* ref_lse);

  BenchmarkCase case_;
  std::int64_t n_;
  GpuInfo gpu_;
  std::shared_ptr<NcclCommunicator> comm_;
  CudaStream compute_;
  DeviceBuffer q_, kv_local_, o_, lse_;
  std::vector<DeviceBuffer> kv_recv_;                    // received_blocks() of them
  DeviceBuffer d_o_, dq_, delta_, dkv_part_, dkv_home_;  // empty without a backward pass
  RankBuffers buffers_;
  std::unique_ptr<BlockKernel> kernel_;
  std::unique_ptr<BlockBackwardKernel> backward_kernel_;
  std::size_t kernel_bytes_;
  RankRole role_;
  CudaBlockKernel checker_;  // the reference kernel, for --check
  std::unique_ptr<Transport> transport_, backward_transport_;
  std::unique_ptr<Transport> outer_, outer_accumulators_;  // a double ring's outer ring
  CudaStepTimer timer_;
  CudaEvent done_;
  GpuTelemetry nvml_;
  std::vector<PositionRun> runs_;
  std::unique_ptr<GradientReference> gradient_reference_;  // between the check's two phases
};

}  // namespace ringbench
