#include "ring/cuda/CudaBackendFactory.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <vector>

#include "core/PatternSpec.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MemoryFit.hpp"
#include "distributed/MpiCheck.hpp"
#include "distributed/VirtualRing.hpp"
#include "distributed/cuda/DeviceCopyTransport.hpp"
#include "distributed/cuda/DeviceRelayTransport.hpp"
#include "distributed/cuda/NcclTransport.hpp"
#include "ring/BlockRectangles.hpp"
#include "ring/DoubleRingTopology.hpp"
#include "ring/RingSchedule.hpp"
#include "ring/cuda/CudaBackend.hpp"
#include "ring/cuda/CudaBackwardKernel.hpp"
#include "ring/cuda/DevicePatternMask.hpp"
#include "ring/cuda/DilatedBackwardBranches.hpp"
#include "ring/cuda/DilatedBranches.hpp"
#include "ring/cuda/EmulatedDeviceTransport.hpp"
#include "ring/cuda/KernelChoice.hpp"
#ifdef RINGBENCH_HAVE_CUDNN
#include "ring/cuda/cudnn/CudnnBackwardKernel.hpp"
#include "ring/cuda/cudnn/CudnnBlockKernel.hpp"
#endif

namespace ringbench {

namespace {

// Creating a communicator costs a second or more on many ranks: one per ring, made the first
// time the ring runs a case and reused. A ring is the whole job or, in scaling sweeps, a sub-ring
// of its first P ranks (MpiRuntime::first_ranks); it is known by its members' MPI_COMM_WORLD ranks.
using RingMembers = std::vector<int>;

std::map<RingMembers, std::shared_ptr<NcclCommunicator>>& cached_communicators() {
  static std::map<RingMembers, std::shared_ptr<NcclCommunicator>> comms;
  return comms;
}

RingMembers members_of(MPI_Comm comm) {
  MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
  RINGBENCH_CHECK_MPI(MPI_Comm_group(comm, &group));
  RINGBENCH_CHECK_MPI(MPI_Comm_group(MPI_COMM_WORLD, &world));
  int n = 0;
  RINGBENCH_CHECK_MPI(MPI_Group_size(group, &n));
  std::vector<int> ranks(static_cast<std::size_t>(n)), members(static_cast<std::size_t>(n));
  std::iota(ranks.begin(), ranks.end(), 0);
  RINGBENCH_CHECK_MPI(MPI_Group_translate_ranks(group, n, ranks.data(), world, members.data()));
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  return members;
}

// Collective over rt.world(): every member finds the ring cached, or none does.
std::shared_ptr<NcclCommunicator> communicator(const MpiRuntime& rt) {
  auto& comm = cached_communicators()[members_of(rt.world())];
  if (!comm) comm = std::make_shared<NcclCommunicator>(rt.world());
  return comm;
}

}  // namespace

std::pair<double, double> cuda_memory_info() {
  std::size_t free = 0, total = 0;
  RINGBENCH_CHECK_CUDA(cudaMemGetInfo(&free, &total));
  return {static_cast<double>(free), static_cast<double>(total)};
}

void release_cuda_resources() {
  cached_communicators().clear();
}

namespace {

// The steps of one rank's ring: what a kernel must be ready to compute.
std::vector<BlockMask> step_masks(const SequenceLayout& layout, int rank,
                                  const AttentionPattern& pattern, std::int64_t heads) {
  std::shared_ptr<const AttentionPattern> view(&pattern, [](const AttentionPattern*) {});
  const RingSchedule schedule(layout, rank, view, heads);
  std::vector<BlockMask> masks;
  for (int s = 0; s < schedule.steps(); ++s) masks.push_back(schedule.mask(s));
  return masks;
}

struct KernelPlan {
  KernelKind kind = KernelKind::flash;
  KernelKind backward_kind = KernelKind::flash;  // with a backward pass
  std::shared_ptr<CudnnSdpa> sdpa;               // with cudnn
  std::size_t bytes = 0;                         // held by the kernels beyond the rank's plan
};

// The largest of `bytes(steps of rank r)` over this process's ranks.
template <class Bytes>
std::size_t most_over_ranks(const SequenceLayout& layout, const std::vector<int>& ranks,
                            const AttentionPattern& pattern, std::int64_t heads, Bytes bytes) {
  std::size_t most = 0;
  for (int r : ranks) most = std::max(most, bytes(step_masks(layout, r, pattern, heads)));
  return most;
}

// Resolves `auto` (forward: the faster of flash and cuDNN, measured; backward: cuDNN where every
// step of every rank cuts into its rectangles and cuDNN builds every graph, else the own kernel),
// and for cuDNN builds every graph the run needs (so its workspace is in the memory plan and an
// unsupported shape is refused, on every rank, before anything is allocated).
KernelPlan plan_kernel(const BenchmarkCase& c, const SequenceLayout& layout,
                       const std::vector<int>& ranks, const AttentionPattern& pattern,
                       const MpiRuntime& rt) {
  KernelPlan plan;
  const std::int64_t heads = c.spec.heads;
  plan.kind = plan.backward_kind = c.kernel;
  plan.bytes = own_kernel_bytes(c, layout.local_len());
  std::string error;
#ifdef RINGBENCH_HAVE_CUDNN
  if (c.kernel == KernelKind::cudnn || c.kernel == KernelKind::automatic)
    plan.sdpa = std::make_shared<CudnnSdpa>();
  if (c.kernel == KernelKind::automatic) {
    // cuDNN is a candidate only where every step's mask is a set of dense/causal rectangles
    bool cudnn_fits = true;
    for (int r : ranks)
      for (const auto& m : step_masks(layout, r, pattern, heads))
        cudnn_fits &= m.empty() || block_rectangles(m).has_value();
    // an emulated ring's one backend plays several members: cuDNN graphs are built per member
    cudnn_fits = all_true(rt.world(), cudnn_fits) && !c.emulated(rt.size());
    const KernelPicks picks = choose_fastest_kernels(
        c, layout.local_len(), cudnn_fits ? plan.sdpa.get() : nullptr, cudnn_fits, rt);
    plan.kind = picks.forward;
    plan.backward_kind = picks.backward;
  }
  const std::int64_t n = layout.local_len();
  try {
    if (plan.kind == KernelKind::cudnn)
      plan.bytes += most_over_ranks(layout, ranks, pattern, c.spec.heads, [&](const auto& steps) {
        return CudnnBlockKernel::plan_bytes(c.spec, n, steps, *plan.sdpa);
      });
  } catch (const LibraryError& e) {
    error = std::string("a shape cuDNN supports (") + e.what() + ")";
  }
  if (has_backward(c.pass) && plan.backward_kind == KernelKind::cudnn) {
    std::string backward_error;
    std::size_t bytes = 0;
    try {
      bytes = most_over_ranks(layout, ranks, pattern, c.spec.heads, [&](const auto& steps) {
        return CudnnBackwardKernel::plan_bytes(c.spec, n, steps, *plan.sdpa);
      });
    } catch (const LibraryError& e) {
      backward_error = std::string("a shape cuDNN's backward supports (") + e.what() + ")";
    }
    // `auto` takes the own kernel where cuDNN cannot run the backward, on every rank alike
    if (c.kernel == KernelKind::automatic && !all_true(rt.world(), backward_error.empty()))
      plan.backward_kind = KernelKind::flash;
    else if (backward_error.empty())
      plan.bytes += bytes;
    else if (error.empty())
      error = backward_error;
  }
#else
  if (c.kernel == KernelKind::automatic)
    plan.kind = plan.backward_kind = KernelKind::flash;  // the only kernel of this build
#endif
  const std::string first = first_error(rt.world(), error);
  if (!first.empty()) throw ConfigError("kernel", "cudnn", first);
  return plan;
}

}  // namespace

std::vector<std::unique_ptr<RankBackend>> make_cuda_backends(
    const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
    const std::vector<int>& ranks, std::shared_ptr<const EmulatedBlocks> emulated) {
  const GpuInfo gpu = select_gpu(rt, c.gpu);
  const auto pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const KernelPlan kernel = plan_kernel(c, layout, ranks, *pattern, rt);
  std::size_t free = 0, total = 0;
  RINGBENCH_CHECK_CUDA(cudaMemGetInfo(&free, &total));
  const RankRole role = emulated                                     ? RankRole::emulated
                        : c.virtual_ranks <= 1 && layout.ranks() > 1 ? RankRole::linked
                                                                     : RankRole::resident;
  // an emulated ring holds one backend whatever the members it plays
  const double needed =
      static_cast<double>(plan_device_rank(c, layout.local_len(), role).buffers() + kernel.bytes) *
      (emulated ? 1 : ranks.size());
  refuse_unless_all_fit(rt, needed + kDeviceReservedBytes, static_cast<double>(free), "GPU memory",
                        c.spec);

  const int steps = layout.ranks();
  auto parts_of = [&c, &layout, &kernel, pattern](int rank) {
    CudaRankParts parts;
    parts.kernel_bytes = kernel.bytes;
    parts.kernel = [&c, &layout, &kernel, pattern,
                    rank](cudaStream_t stream) -> std::unique_ptr<BlockKernel> {
#ifdef RINGBENCH_HAVE_CUDNN
      if (kernel.kind == KernelKind::cudnn)
        return std::make_unique<CudnnBlockKernel>(c.spec, layout.local_len(),
                                                  step_masks(layout, rank, *pattern, c.spec.heads),
                                                  kernel.sdpa, stream);
#endif
      return std::make_unique<CudaBlockKernel>(c.spec, kernel.kind, layout.local_len(), stream);
    };
    parts.backward_kernel = [&c, &layout, &kernel, pattern,
                             rank](cudaStream_t stream) -> std::unique_ptr<BlockBackwardKernel> {
#ifdef RINGBENCH_HAVE_CUDNN
      if (kernel.backward_kind == KernelKind::cudnn)
        return std::make_unique<CudnnBackwardKernel>(
            c.spec, layout.local_len(), step_masks(layout, rank, *pattern, c.spec.heads),
            kernel.sdpa, stream);
#endif
      return std::make_unique<CudaBackwardKernel>(c.spec, kernel.backward_kind, layout.local_len(),
                                                  stream);
    };
    return parts;
  };
  // transports see P+1 exchanges an iteration: the backward's last hop brings dK/dV home
  std::vector<std::unique_ptr<RankBackend>> backends;
  if (emulated) {
    CudaRankParts parts = parts_of(ranks.front());
    parts.comm = communicator(rt);
    parts.role = role;
    const std::size_t block = 2 *
                              static_cast<std::size_t>(c.spec.batch * c.spec.effective_kv_heads() *
                                                       layout.local_len() * c.spec.head_dim) *
                              element_bytes(c.spec.dtype);
    NcclCommunicator* link = rt.size() > 1 ? parts.comm.get() : nullptr;  // one rank: a copy
    parts.transport = [link, emulated, &c, block, steps](cudaStream_t compute) {
      return std::make_unique<EmulatedDeviceTransport>(link, emulated, c.spec, block, compute,
                                                       steps + 1);
    };
    backends.push_back(std::make_unique<CudaBackend>(c, layout.local_len(), steps, gpu, parts));
    return backends;
  }
  if (c.virtual_ranks <= 1) {
    CudaRankParts parts = parts_of(ranks.front());
    parts.comm = communicator(rt);
    parts.role = role;
    const std::size_t staging = row_staging_bytes(c, layout.local_len(), role);
    parts.transport = [comm = parts.comm, steps, staging](cudaStream_t compute) {
      return std::make_unique<NcclTransport>(*comm, compute, steps + 1, staging);
    };
    backends.push_back(std::make_unique<CudaBackend>(c, layout.local_len(), steps, gpu, parts));
    return backends;
  }
  // a double ring's inner ring takes the place of the ring; its outer ring is a second pair of
  // links
  std::optional<DoubleRingTopology> dr;
  if (c.scheme == SchemeKind::doublering) dr = DoubleRingTopology{steps, c.scheme_group_ranks};
  const int P = static_cast<int>(ranks.size());
  auto ring = std::make_shared<VirtualRing>(), outer = std::make_shared<VirtualRing>();
  auto relay = std::make_shared<DeviceRelayRing>(
      P, std::max(steps + 1, dr ? dr->inner_backward_exchanges() : 0));
  auto outer_relay = std::make_shared<DeviceRelayRing>(P, steps + 1);
  if (dr) ring->sources = dr->inner_sources(), outer->sources = dr->outer_sources();
  for (int r : ranks) {
    CudaRankParts parts = parts_of(r);
    parts.transport = [ring, r, steps](cudaStream_t compute) {
      return std::make_unique<DeviceCopyTransport>(ring, r, compute, steps);
    };
    // the backward's blocks change on the way: each rank relays what its predecessor sent
    const int before = dr ? dr->inner_predecessor(r) : -1, after = dr ? dr->inner_successor(r) : -1;
    parts.backward_transport = [relay, r, before, after](cudaStream_t compute) {
      return std::make_unique<DeviceRelayTransport>(relay, r, compute, before, after);
    };
    if (dr) {
      parts.outer_transport = [outer, r, steps](cudaStream_t compute) {
        return std::make_unique<DeviceCopyTransport>(outer, r, compute, steps);
      };
      parts.outer_accumulator_transport = [outer_relay, r, d = *dr](cudaStream_t compute) {
        return std::make_unique<DeviceRelayTransport>(outer_relay, r, compute,
                                                      d.outer_predecessor(r), d.outer_successor(r));
      };
    }
    backends.push_back(std::make_unique<CudaBackend>(c, layout.local_len(), steps, gpu, parts));
    ring->local_blocks.push_back(backends.back()->buffers().kv_local);
    outer->local_blocks.push_back(backends.back()->buffers().kv_local);
  }
  return backends;
}

}  // namespace ringbench
