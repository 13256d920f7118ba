#include "distributed/cuda/GpuDevice.hpp"

#include <algorithm>
#include <vector>

#include "distributed/Collectives.hpp"
#include "distributed/cuda/CudaCheck.hpp"

namespace ringbench {

int visible_gpu_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

namespace {

std::string bus_id(int ordinal) {
  char id[32] = {};
  RINGBENCH_CHECK_CUDA(cudaDeviceGetPCIBusId(id, sizeof id, ordinal));
  return id;
}

// The ordinal this rank should use, or an error text saying why there is none.
std::pair<int, std::string> choose(const MpiRuntime& rt, int count, int requested) {
  const std::string where = " on host " + rt.hostname();
  if (count == 0) return {-1, "no CUDA GPU visible" + where};
  if (requested >= 0) {
    if (requested >= count)
      return {-1, "gpu " + std::to_string(requested) + " requested but " + std::to_string(count) +
                      " visible" + where};
    return {requested, ""};
  }
  if (count == 1) return {0, ""};  // one GPU per process, as Slurm --gpus-per-task gives
  if (rt.local_rank() >= count)
    return {-1, std::to_string(rt.local_size()) + " ranks" + where + " but only " +
                    std::to_string(count) + " GPUs: start at most one rank per GPU"};
  return {rt.local_rank(), ""};
}

}  // namespace

GpuInfo select_gpu(const MpiRuntime& rt, int requested) {
  const int count = visible_gpu_count();
  auto [ordinal, error] = choose(rt, count, requested);
  // two ranks of one host on the same physical GPU would measure each other
  const auto buses = gather(rt.node(), ordinal >= 0 ? bus_id(ordinal) : std::string());
  std::string shared;
  for (std::size_t a = 0; a < buses.size(); ++a)
    for (std::size_t b = a + 1; b < buses.size(); ++b)
      if (!buses[a].empty() && buses[a] == buses[b] && shared.empty())
        shared = "local ranks " + std::to_string(a) + " and " + std::to_string(b) + " on host " +
                 rt.hostname() + " would share GPU " + buses[a];
  if (error.empty()) error = shared;  // found on the node's first rank only
  const std::string first = first_error(rt.world(), error);
  if (!first.empty()) throw ConfigError("device", "cuda", "one GPU per rank: " + first);

  RINGBENCH_CHECK_CUDA(cudaSetDevice(ordinal));
  cudaDeviceProp prop{};
  RINGBENCH_CHECK_CUDA(cudaGetDeviceProperties(&prop, ordinal));
  return {ordinal,    prop.name,  bus_id(ordinal),    prop.multiProcessorCount,
          prop.major, prop.minor, prop.totalGlobalMem};
}

std::map<std::string, std::string> gpu_provenance() {
  int driver = 0, runtime = 0, nccl = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  ncclGetVersion(&nccl);
  auto version = [](int v) {
    return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
  };
  std::string peers;
  const int count = visible_gpu_count();
  for (int a = 0; a < count; ++a) {
    peers += (a ? ";" : "") + std::to_string(a) + ":";
    for (int b = 0; b < count; ++b) {
      int can = 0;
      if (a != b) cudaDeviceCanAccessPeer(&can, a, b);
      peers += a == b ? "-" : (can ? "y" : "n");
    }
  }
  return {{"cuda_driver_version", version(driver)},
          {"cuda_runtime_version", version(runtime)},
          {"nccl_version", std::to_string(nccl / 10000) + "." + std::to_string(nccl / 100 % 100) +
                               "." + std::to_string(nccl % 100)},
          {"gpu_peer_access", peers}};
}

}  // namespace ringbench
