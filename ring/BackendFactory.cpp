#include "ring/BackendFactory.hpp"

#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <thread>

#include "core/Error.hpp"
#include "distributed/HostCopyTransport.hpp"
#include "distributed/MemoryFit.hpp"
#include "distributed/MpiTransport.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/cpu/CpuBackend.hpp"
#include "ring/cpu/EmulatedHostTransport.hpp"
#include "ring/cpu/HostRowCopier.hpp"
#include "ring/cpu/RelayTransport.hpp"
#ifdef RINGBENCH_HAVE_CUDA
#include "ring/cuda/CudaBackendFactory.hpp"
#include "ring/cuda/DeviceRowCopier.hpp"
#endif

namespace ringbench {

namespace {

// The CPU backends of one ring of `ranks` members simulated in this process (virtual ranks):
// each receives the forward's blocks as copies of their owners' and the backward's through a
// relay (its blocks change on the way).
std::vector<std::unique_ptr<CpuBackend>> make_virtual_cpu_ring(const ProblemSpec& spec,
                                                               std::int64_t local_len, int ranks,
                                                               int threads, bool backward,
                                                               int received) {
  auto ring = std::make_shared<VirtualRing>();
  auto relay = std::make_shared<RelayRing>(ranks);  // the backward's blocks change on the way
  std::vector<std::unique_ptr<CpuBackend>> backends;
  for (int r = 0; r < ranks; ++r) {
    backends.push_back(std::make_unique<CpuBackend>(
        spec, local_len, std::make_unique<HostCopyTransport>(ring, r), threads, backward,
        backward ? std::make_unique<RelayTransport>(relay, r) : nullptr, received));
    ring->local_blocks.push_back(backends.back()->buffers().kv_local);
  }
  return backends;
}

std::vector<std::unique_ptr<RankBackend>> make_cpu_backends(
    const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
    const std::vector<int>& ranks, std::shared_ptr<const EmulatedBlocks> emulated = nullptr) {
  const bool backward = has_backward(c.pass);
  const int received = received_blocks(c.scheme, layout.ranks());
  const std::size_t held = emulated ? 1 : ranks.size();  // an emulated ring: one for all members
  const double needed =
      static_cast<double>(plan_host_rank(c.spec, layout.local_len(), backward, received)) * held;
  refuse_unless_all_fit(rt, needed, device_memory(DeviceKind::cpu, rt).free, "host memory", c.spec);
  const int threads = cpu_threads(rt);

  std::vector<std::unique_ptr<RankBackend>> backends;
  if (c.virtual_ranks <= 1) {
    std::unique_ptr<Transport> link = std::make_unique<MpiTransport>(rt.world(), c.timeout_s);
    if (emulated) link = std::make_unique<EmulatedHostTransport>(std::move(link), emulated, c.spec);
    backends.push_back(std::make_unique<CpuBackend>(c.spec, layout.local_len(), std::move(link),
                                                    threads, backward, nullptr, received));
    return backends;
  }
  for (auto& b : make_virtual_cpu_ring(c.spec, layout.local_len(), static_cast<int>(ranks.size()),
                                       threads, backward, received))
    backends.push_back(std::move(b));
  return backends;
}

// The members this process plays of an emulated ring, one backend for all, its transport
// generating each member's blocks while the real link moves their bytes.
std::vector<LocalRank> make_emulated_members(const BenchmarkCase& c, const SequenceLayout& layout,
                                             const MpiRuntime& rt,
                                             std::shared_ptr<const AttentionPattern> pattern) {
  const auto shared_plan = std::make_shared<const EmulationPlan>(
      plan_emulation(c, layout, *pattern, rt.size(), rt.rank()));
  const EmulationPlan& plan = *shared_plan;
  auto blocks = std::make_shared<EmulatedBlocks>(layout, c.seed, c.spec.heads);
  std::shared_ptr<RankBackend> backend;
  if (c.device == DeviceKind::cpu) {
    backend = std::move(make_cpu_backends(c, layout, rt, plan.mine, blocks).front());
  } else {
#ifdef RINGBENCH_HAVE_CUDA
    backend = std::move(make_cuda_backends(c, layout, rt, plan.mine, blocks).front());
#else
    throw ConfigError("device", "cuda", "cpu (this build has no CUDA backend)");
#endif
  }
  std::vector<LocalRank> members;
  for (int m : plan.mine)
    members.push_back(
        {m, RingSchedule(layout, m, pattern, c.spec.heads, plan.last_needed_step, plan.ring_steps),
         backend, blocks, shared_plan});
  return members;
}

}  // namespace

int cpu_threads(const MpiRuntime& rt) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / rt.local_size());
}

void release_device_resources() {
#ifdef RINGBENCH_HAVE_CUDA
  release_cuda_resources();
#endif
}

std::vector<int> local_ring_ranks(const BenchmarkCase& c, const MpiRuntime& rt) {
  if (c.virtual_ranks <= 1) return {rt.rank()};
  std::vector<int> ranks(static_cast<std::size_t>(c.virtual_ranks));
  std::iota(ranks.begin(), ranks.end(), 0);
  return ranks;
}

DeviceMemory device_memory(DeviceKind device, const MpiRuntime& rt) {
#ifdef RINGBENCH_HAVE_CUDA
  if (device == DeviceKind::cuda) {
    const auto [free, total] = cuda_memory_info();
    return {free, total};
  }
#endif
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  return {static_cast<double>(::sysconf(_SC_AVPHYS_PAGES)) * page / rt.local_size(),
          static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * page / rt.local_size()};
}

std::vector<std::unique_ptr<RankBackend>> make_backends(const BenchmarkCase& c,
                                                        const SequenceLayout& layout,
                                                        const MpiRuntime& rt,
                                                        const std::vector<int>& ranks) {
  if (c.device == DeviceKind::cpu) return make_cpu_backends(c, layout, rt, ranks);
#ifdef RINGBENCH_HAVE_CUDA
  return make_cuda_backends(c, layout, rt, ranks);
#else
  throw ConfigError("device", "cuda", "cpu (this build has no CUDA backend)");
#endif
}

std::unique_ptr<RowCopier> make_row_copier(const BenchmarkCase& c) {
  if (c.device == DeviceKind::cpu) return std::make_unique<HostRowCopier>();
#ifdef RINGBENCH_HAVE_CUDA
  return std::make_unique<DeviceRowCopier>(c.timeout_s);
#else
  throw ConfigError("device", "cuda", "cpu (this build has no CUDA backend)");
#endif
}

std::vector<LocalRank> make_local_ranks(const BenchmarkCase& c, const SequenceLayout& layout,
                                        const MpiRuntime& rt,
                                        std::shared_ptr<const AttentionPattern> pattern) {
  if (c.emulated(rt.size())) return make_emulated_members(c, layout, rt, std::move(pattern));
  const std::vector<int> ranks = local_ring_ranks(c, rt);
  std::vector<std::unique_ptr<RankBackend>> backends = make_backends(c, layout, rt, ranks);
  std::vector<LocalRank> locals;
  const int last_needed = ring_last_needed_step(layout, *pattern, c.spec.heads);
  for (std::size_t i = 0; i < ranks.size(); ++i)
    locals.push_back({ranks[i], RingSchedule(layout, ranks[i], pattern, c.spec.heads, last_needed),
                      std::move(backends[i]), nullptr, nullptr});
  return locals;
}

}  // namespace ringbench
