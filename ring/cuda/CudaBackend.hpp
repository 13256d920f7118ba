// A rank computing on one GPU: bf16/fp16 Q and K/V blocks and the fp32 running result in device
// memory, the block kernel on a compute stream, K/V moving on the transport's own stream.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "distributed/cuda/GpuDevice.hpp"
#include "distributed/cuda/NcclCommunicator.hpp"
#include "ring/RankBackend.hpp"
#include "ring/cuda/CudaBlockKernel.hpp"
#include "ring/cuda/CudaStepTimer.hpp"
#include "ring/cuda/GpuTelemetry.hpp"

namespace ringbench {

// Device bytes one rank needs for a case, worked out before anything is allocated.
struct CudaMemoryPlan {
  std::size_t q = 0, kv_blocks = 0, output = 0, positions = 0, check = 0;
  std::size_t total() const { return q + kv_blocks + output + positions + check; }
};
CudaMemoryPlan plan_cuda_rank(const BenchmarkCase& c, std::int64_t local_len);

class CudaBackend final : public RankBackend {
 public:
  using TransportFactory = std::function<std::unique_ptr<Transport>(cudaStream_t compute)>;
  using KernelFactory = std::function<std::unique_ptr<BlockKernel>(cudaStream_t compute)>;
  // `comm` (may be null) is polled for errors while waiting for the GPU; `kernel_bytes` is what
  // the kernel holds beyond the plan (cuDNN scratch and workspace).
  CudaBackend(const BenchmarkCase& c, std::int64_t local_len, int steps, const GpuInfo& gpu,
              const KernelFactory& make_kernel, std::size_t kernel_bytes,
              const TransportFactory& make_transport, std::shared_ptr<NcclCommunicator> comm);

  std::string device_name() const override { return gpu_.name; }
  std::string pci_bus_id() const override { return gpu_.pci_bus_id; }
  std::size_t allocated_bytes() const override {
    return plan_cuda_rank(case_, n_).total() + kernel_bytes_;
  }
  void generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) override;
  const RankBuffers& buffers() const override { return buffers_; }
  BlockKernel& kernel() override { return *kernel_; }
  Transport& transport() override { return *transport_; }
  StepTimer& timer() override { return timer_; }
  void synchronize() override;
  AttentionResult read_result() override;
  ErrorSums compare_with_reference(std::uint64_t seed) override;
  // No GPU backward kernels yet: both refuse with ConfigError("pass", ...). validate() refuses
  // such cases before any communication; these keep any other caller from running a half pass.
  BlockBackwardKernel& backward_kernel() override;
  GradientResult read_gradients() override;
  std::map<std::string, double> telemetry() override;
  std::map<std::string, std::string> provenance() const override;

 private:
  BenchmarkCase case_;
  std::int64_t n_;
  GpuInfo gpu_;
  std::shared_ptr<NcclCommunicator> comm_;
  CudaStream compute_;
  DeviceBuffer q_, kv_local_, kv_recv_[2], o_, lse_;
  RankBuffers buffers_;
  std::unique_ptr<BlockKernel> kernel_;
  std::size_t kernel_bytes_;
  CudaBlockKernel checker_;  // the reference kernel, for --check
  std::unique_ptr<Transport> transport_;
  CudaStepTimer timer_;
  CudaEvent done_;
  GpuTelemetry nvml_;
  std::vector<PositionRun> runs_;
};

}  // namespace ringbench
