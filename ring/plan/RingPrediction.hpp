// `ringbench plan`'s prediction of one ring: for a case on a cluster, per rank the memory (the
// run's own memory plan), per step the compute (calibrated curves, from the step's exact FLOPs)
// and the transfer (link curves or bandwidth and latency), and from them the iteration as the
// ring runs it: a step ends when its compute and both its transfers have (NCCL and device copies
// run beside the kernel; MPI and host copies on CPU ranks after it), a transfer starts when both
// ends have reached the step. Ranks of one process (virtual ranks, emulated members) each run
// their own steps, one rank after another; the backward of virtual ranks on a GPU runs them in
// lockstep, side by side on the device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/plan/CostModel.hpp"

namespace ringbench {

struct PlanCluster {
  int ranks = 1;             // ring members (GPUs, or CPU ranks)
  int ranks_per_host = 1;    // consecutive ring ranks share a host (its links are `intra`)
  bool one_process = false;  // virtual ranks or emulated members: ranks run one after another
  bool emulated = false;     // members of an emulated ring: one backend plays them all
  int concurrency = 1;       // ranks computing at once on one device (CPU ranks of a host)
  LinkModel intra, inter;
  double memory_per_rank = 0;  // bytes a rank may use; 0: unknown (nothing refused)
};

struct RingPrediction {
  int ranks = 1;
  std::int64_t seq_len = 0, local_len = 0;
  double memory_bytes = 0;  // per rank, the run's memory plan
  bool fits = true;
  double iteration_ms = 0;  // slowest rank, every timed pass
  double compute_ms = 0;    // the slowest rank's compute
  double transfer_ms = 0;   // the slowest rank's transfers
  double exposed_ms = 0;    // iteration - slowest rank's compute: what communication costs
  double flops = 0;         // the whole problem, timed passes
  double tflops_per_rank = 0;
  double bytes_per_rank = 0;       // sent per iteration
  std::vector<std::string> notes;  // which curves and links the numbers come from
};

RingPrediction predict_ring(const BenchmarkCase& c, const PlanCluster& cluster,
                            const ComputeModel& model);

// The bytes a rank of `c` holds on `ranks` ranks, and the longest sequence (a multiple of what
// the layout needs) whose ranks each fit in `memory_per_rank`; 0 when not even the shortest does.
double rank_memory(const BenchmarkCase& c, int ranks, RankRole role = RankRole::resident);
std::int64_t longest_fitting(const BenchmarkCase& c, int ranks, double memory_per_rank,
                             RankRole role = RankRole::resident);

}  // namespace ringbench
