#include "ring/BackendFactory.hpp"

#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <thread>

#include "core/Error.hpp"
#include "distributed/HostCopyTransport.hpp"
#include "distributed/MemoryFit.hpp"
#include "distributed/MpiTransport.hpp"
#include "distributed/SubRingTransport.hpp"
#include "ring/DoubleRingTopology.hpp"
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

// A double ring's topology where the case runs one (its inner and outer rings), else nullopt.
std::optional<DoubleRingTopology> double_ring(const BenchmarkCase& c, int ranks) {
  if (c.scheme != SchemeKind::doublering) return std::nullopt;
  return DoubleRingTopology{ranks, c.scheme_group_ranks};
}

// The CPU backends of one ring of `ranks` members simulated in this process (virtual ranks):
// each receives the forward's blocks as copies of their owners' and the backward's through a
// relay (its blocks change on the way). A double ring's inner ring takes the place of the ring,
// and its outer ring is a second pair of the same.
std::vector<std::unique_ptr<CpuBackend>> make_virtual_cpu_ring(
    const ProblemSpec& spec, std::int64_t local_len, int ranks, int threads, bool backward,
    int received, const std::optional<DoubleRingTopology>& dr) {
  auto ring = std::make_shared<VirtualRing>(), outer = std::make_shared<VirtualRing>();
  auto relay = std::make_shared<RelayRing>(ranks);  // the backward's blocks change on the way
  auto outer_relay = std::make_shared<RelayRing>(ranks);
  if (dr) ring->sources = dr->inner_sources(), outer->sources = dr->outer_sources();
  std::vector<std::unique_ptr<CpuBackend>> backends;
  for (int r = 0; r < ranks; ++r) {
    const int before = dr ? dr->inner_predecessor(r) : -1;
    backends.push_back(std::make_unique<CpuBackend>(
        spec, local_len, std::make_unique<HostCopyTransport>(ring, r), threads, backward,
        backward ? std::make_unique<RelayTransport>(relay, r, before) : nullptr, received));
    if (dr)
      backends.back()->set_outer_links(
          std::make_unique<HostCopyTransport>(outer, r),
          backward ? std::make_unique<RelayTransport>(outer_relay, r, dr->outer_predecessor(r))
                   : nullptr);
    ring->local_blocks.push_back(backends.back()->buffers().kv_local);
    outer->local_blocks.push_back(backends.back()->buffers().kv_local);
  }
  return backends;
}

// This real rank's CPU backend: K/V over MPI to its ring neighbours, or a double ring's inner and
// outer rings over communicators of their own (the accumulators' a second one: two exchanges on
// the outer ring at once).
std::unique_ptr<CpuBackend> make_linked_cpu_backend(
    const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt, int threads,
    int received, std::shared_ptr<const EmulatedBlocks> emulated) {
  const bool backward = has_backward(c.pass);
  const auto dr = double_ring(c, layout.ranks());
  std::unique_ptr<Transport> link;
  if (dr)
    link = std::make_unique<SubRingTransport>(rt.world(), dr->inner_ring(rt.rank()),
                                              dr->place(rt.rank()), "a double ring's inner ring",
                                              c.timeout_s);
  else
    link = std::make_unique<MpiTransport>(rt.world(), c.timeout_s);
  if (emulated) link = std::make_unique<EmulatedHostTransport>(std::move(link), emulated, c.spec);
  auto backend = std::make_unique<CpuBackend>(c.spec, layout.local_len(), std::move(link), threads,
                                              backward, nullptr, received);
  if (!dr) return backend;
  auto outer_ring = [&](const char* what) {
    return std::make_unique<SubRingTransport>(rt.world(), dr->place(rt.rank()),
                                              dr->inner_ring(rt.rank()), what, c.timeout_s);
  };
  std::unique_ptr<Transport> blocks = outer_ring("a double ring's outer ring");
  std::unique_ptr<Transport> accumulators = outer_ring("a double ring's outer accumulators");
  backend->set_outer_links(std::move(blocks), backward ? std::move(accumulators) : nullptr);
  return backend;
}

std::vector<std::unique_ptr<RankBackend>> make_cpu_backends(
    const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
    const std::vector<int>& ranks, std::shared_ptr<const EmulatedBlocks> emulated = nullptr) {
  const bool backward = has_backward(c.pass);
  const int received = received_blocks(c, layout.ranks());
  const std::size_t held = emulated ? 1 : ranks.size();  // an emulated ring: one for all members
  const double needed =
      static_cast<double>(plan_host_rank(c.spec, layout.local_len(), backward, received)) * held;
  refuse_unless_all_fit(rt, needed, device_memory(DeviceKind::cpu, rt).free, "host memory", c.spec);
  const int threads = cpu_threads(rt);

  std::vector<std::unique_ptr<RankBackend>> backends;
  if (c.virtual_ranks <= 1) {
    backends.push_back(make_linked_cpu_backend(c, layout, rt, threads, received, emulated));
    return backends;
  }
  for (auto& b : make_virtual_cpu_ring(c.spec, layout.local_len(), static_cast<int>(ranks.size()),
                                       threads, backward, received, double_ring(c, layout.ranks())))
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
    locals.push_back({ranks[i], case_schedule(c, layout, ranks[i], pattern, last_needed),
                      std::move(backends[i]), nullptr, nullptr});
  return locals;
}

}  // namespace ringbench
