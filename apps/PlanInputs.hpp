// What `ringbench plan` builds its predictions from: the calibration's curves, the links of the
// cluster (measured, given on the command line, or the documented defaults), and, for
// `plan --validate`, each measured run read back as its case and the machine it ran on.
#pragma once

#include <optional>
#include <string>

#include "apps/Commands.hpp"
#include "core/RunRecord.hpp"
#include "ring/plan/Calibration.hpp"
#include "ring/plan/RingPrediction.hpp"

namespace ringbench {

// The links of a cluster of `device` ranks. --intra-gbps/--intra-latency-us and
// --inter-gbps/--inter-latency-us (taken out of `args`) win; else the calibration's measured link
// of that kind; else, inside a GPU node, NCCL send/recv between H200s as ../shared/ANCHORS.md
// measured it, and between nodes (or CPU hosts) an assumed 50 GB/s and 10 us, said so in the
// link's words.
struct ClusterLinks {
  LinkModel intra, inter;
};
ClusterLinks cluster_links(Args& args, DeviceKind device, const Calibration& cal,
                           const std::string& intra_kind);

// A measured run as plan sees it: its case, and the ring it ran on.
struct MeasuredRing {
  BenchmarkCase c;
  PlanCluster cluster;  // links left to the caller
  int real_ranks = 1;
  std::string link;  // the kind its exchanges used (link_of)
  double measured_ms = 0, measured_memory = 0;
  std::string kernel;  // the kernel that ran
};
// nullopt (with `why`) for runs plan cannot predict (failed runs, other schemes).
std::optional<MeasuredRing> measured_ring(const RunRecord& run, std::string& why);

}  // namespace ringbench
