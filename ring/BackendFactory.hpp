// Builds the ranks of the ring this process runs: its own rank, all P virtual ranks of a
// --virtual-ranks run, or the members it plays of an emulated ring (--ring-size above the ranks;
// these share one backend and run one after another). Each gets the backend of the case's device
// (CPU, or CUDA when built) and its schedule. A case that does not fit in memory is refused on
// every rank with the numbers.
#pragma once

#include <memory>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/EmulatedRing.hpp"
#include "ring/RankBackend.hpp"
#include "ring/RingSchedule.hpp"
#include "ring/RowCopier.hpp"
#include "ring/cpu/CpuBackend.hpp"

namespace ringbench {

struct LocalRank {
  int rank;  // in the ring (an emulated ring: the member played)
  RingSchedule schedule;
  std::shared_ptr<RankBackend> backend;
  std::shared_ptr<EmulatedBlocks> emulated;  // an emulated member: what its transport generates
  std::shared_ptr<const EmulationPlan> emulation;  // and the plan of the whole emulated ring
};

std::vector<LocalRank> make_local_ranks(const BenchmarkCase& c, const SequenceLayout& layout,
                                        const MpiRuntime& rt,
                                        std::shared_ptr<const AttentionPattern> pattern);

// The ring ranks this process runs.
std::vector<int> local_ring_ranks(const BenchmarkCase& c, const MpiRuntime& rt);

// Memory where ranks of `device` compute, as a rank of this process sees it now: host memory
// shared by the ranks of the host, or this rank's GPU (after a case has selected it).
struct DeviceMemory {
  double free = 0, total = 0;
};
DeviceMemory device_memory(DeviceKind device, const MpiRuntime& rt);

// OpenMP threads of one CPU rank: this host's cores shared among its ranks.
int cpu_threads(const MpiRuntime& rt);

// The backends of `ranks` of a ring of case `c` on `layout`, on the case's device, as
// make_local_ranks makes them (also for the rings a scheme builds of its own, such as the ring
// across Ulysses groups).
std::vector<std::unique_ptr<RankBackend>> make_backends(const BenchmarkCase& c,
                                                        const SequenceLayout& layout,
                                                        const MpiRuntime& rt,
                                                        const std::vector<int>& ranks);

// Row moves in the memory where ranks of `c` compute (host memory, or this process's GPU).
std::unique_ptr<RowCopier> make_row_copier(const BenchmarkCase& c);

// Frees what the device backends keep between cases (the NCCL communicator); call before MPI ends.
void release_device_resources();

}  // namespace ringbench
