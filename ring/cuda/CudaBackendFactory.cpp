#include "ring/cuda/CudaBackendFactory.hpp"

#include "distributed/VirtualRing.hpp"
#include "distributed/cuda/DeviceCopyTransport.hpp"
#include "distributed/cuda/NcclTransport.hpp"
#include "distributed/MemoryFit.hpp"
#include "ring/cuda/CudaBackend.hpp"

namespace ringbench {

namespace {

// Creating a communicator costs a second or more on many ranks: one per process, reused.
std::shared_ptr<NcclCommunicator>& cached_communicator() {
  static std::shared_ptr<NcclCommunicator> comm;
  return comm;
}

std::shared_ptr<NcclCommunicator> communicator(const MpiRuntime& rt) {
  auto& comm = cached_communicator();
  if (!comm) comm = std::make_shared<NcclCommunicator>(rt.world());
  return comm;
}

// NCCL's own buffers and the CUDA context need room beside the plan.
constexpr double kReservedBytes = 1.0 * (1 << 30);

}  // namespace

void release_cuda_resources() { cached_communicator().reset(); }

std::vector<std::unique_ptr<RankBackend>> make_cuda_backends(const BenchmarkCase& c, const SequenceLayout& layout,
                                                             const MpiRuntime& rt, const std::vector<int>& ranks) {
  const GpuInfo gpu = select_gpu(rt, c.gpu);
  std::size_t free = 0, total = 0;
  RINGBENCH_CHECK_CUDA(cudaMemGetInfo(&free, &total));
  const double needed = static_cast<double>(plan_cuda_rank(c, layout.local_len()).total()) * ranks.size();
  refuse_unless_all_fit(rt, needed + kReservedBytes, static_cast<double>(free), "GPU memory");

  const int steps = layout.ranks();
  std::vector<std::unique_ptr<RankBackend>> backends;
  if (c.virtual_ranks <= 1) {
    auto comm = communicator(rt);
    auto transport = [comm, steps](cudaStream_t compute) {
      return std::make_unique<NcclTransport>(*comm, compute, steps);
    };
    backends.push_back(std::make_unique<CudaBackend>(c, layout.local_len(), steps, gpu, transport, comm));
    return backends;
  }
  auto ring = std::make_shared<VirtualRing>();
  for (int r : ranks) {
    auto transport = [ring, r, steps](cudaStream_t compute) {
      return std::make_unique<DeviceCopyTransport>(ring, r, compute, steps);
    };
    backends.push_back(std::make_unique<CudaBackend>(c, layout.local_len(), steps, gpu, transport, nullptr));
    ring->local_blocks.push_back(backends.back()->buffers().kv_local);
  }
  return backends;
}

}  // namespace ringbench
