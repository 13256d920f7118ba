// Everything one benchmark run produces, as it is stored in the results file (see README, "HDF5
// results"). Plain data; ResultsFile writes and reads it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/AttentionPattern.hpp"

namespace ringbench {

struct RankInfo {
  int rank = 0;
  std::string host;
  int local_rank = 0;
  std::string device;      // "cpu" or the GPU's name
  std::string pci_bus_id;  // empty on CPU
};

// Relative Frobenius errors of the backward pass's gradients over the whole problem.
struct GradientErrors {
  double dq_rel_err = 0, dk_rel_err = 0, dv_rel_err = 0;
};

struct CheckResult {
  double rel_err = 0;      // ||O - O_ref||_F / ||O_ref||_F over the whole problem
  double max_abs_err = 0;  // max |O - O_ref|
  double lse_max_abs_err = 0;
  double tolerance = 0;
  bool passed = false;  // O and, with a backward pass, every gradient within tolerance
  std::optional<GradientErrors> gradients;  // runs with a backward pass (whole checks only)
  std::int64_t rows = 0;  // > 0: only these many sampled query rows were compared (--check-rows)
};

// One pass's own timings (schema 2), for runs that time a backward pass or both passes.
struct PassTiming {
  std::vector<double> compute_ms, comm_ms, wait_ms;  // [iterations][ranks][ring steps]
  std::vector<double> total_ms, wall_ms;             // [iterations][ranks]
  double flops = 0;  // this pass over the whole problem (backward: 2.5 x forward)
};

struct TensorDump {
  std::string name;                  // Q, K, V, O, LSE
  std::vector<std::uint64_t> shape;  // [batch, heads, seq, head_dim] (LSE without head_dim)
  std::vector<float> values;         // global token order
};

struct RunRecord {
  std::vector<std::pair<std::string, std::string>> config;  // every config key, canonical form
  std::map<std::string, std::string> provenance;            // versions, hosts, time, ...
  int world_size = 1;
  std::string status = "ok";  // ok | failed
  std::string error;

  std::vector<RankInfo> ranks;
  int iterations = 0;
  int steps =
      0;  // timed steps per iteration: the ring size per pass (fwdbwd: forward's, then backward's)
  // [iterations][ranks][steps], milliseconds
  std::vector<double> compute_ms, comm_ms, wait_ms;
  std::vector<double> total_ms;  // [iterations][ranks], device clock, the whole iteration
  std::vector<double> wall_ms;   // [iterations][ranks], host clock incl. synchronisation
  std::map<std::string, PassTiming> passes;  // "forward", "backward": each pass timed (schema 2)
  std::vector<std::int64_t> bytes_sent;      // [ranks][steps]
  std::vector<double> step_flops;            // [ranks][steps], work each rank did at each step

  std::map<std::string, std::vector<double>> telemetry;  // name -> [ranks][2]: start, end of run
  std::map<std::string, double> summary;                 // median_ms, tflops_per_rank, ...
  std::optional<CheckResult> check;
  std::vector<TensorDump> tensors;
  // With --dump-tensors, the block map a random pattern drew (bigbird, blocksparse), so the
  // exact mask can be rebuilt from the file: tensors/block_map [blocks][blocks] uint8.
  BlockMap block_map;
};

}  // namespace ringbench
