// What `ringbench calibrate` measured on a machine, and what `ringbench plan` predicts from: the
// time of ring steps against their exact FLOPs (per kernel, pass, precision, head dim, the number
// of ranks computing at once on a host, and the kind of step: a whole block or a partial one of a
// mask), the time of one exchange against its bytes (per link), and the memory a rank may use.
// Stored in its own small HDF5 file (see README, "Planning").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "core/RunRecord.hpp"

namespace ringbench {

// One measured ring step (median over the timed iterations).
struct ComputeSample {
  std::string device;  // cpu | cuda
  std::string kernel;  // the kernel that ran: cpu, flash, cudnn, reference
  std::string pass;    // forward | backward
  std::string dtype;
  int head_dim = 0;
  int concurrency = 1;  // ranks computing at the same time on one host
  std::string step;     // "full": every pair of the block allowed; else the case's mask spec
  double flops = 0, ms = 0;
};

// One measured exchange (median of repeats): send `bytes` to the next rank, receive as many.
struct LinkSample {
  std::string link;  // host-copy, device-copy (virtual ranks), mpi, nccl
  double bytes = 0, ms = 0;
};

struct Calibration {
  std::string device_name;  // "cpu" or the GPU's name
  std::string tool_version;
  int ranks = 1, ranks_per_host = 1;
  double memory_free = 0, memory_total = 0;  // bytes a rank may use / has, where it computes
  std::vector<ComputeSample> compute;
  std::vector<LinkSample> links;
};

// Writes `cal` to `path` (replacing it only once the new file is whole: a `.tmp` beside it is
// renamed over it).
void write_calibration(const std::filesystem::path& path, const Calibration& cal);
// Throws ConfigError(key, path, ...) when `path` is not a calibration file.
Calibration read_calibration(const std::filesystem::path& path, const std::string& key);

// The link a run's exchanges went over: device-copy / host-copy for virtual ranks and one-rank
// emulated rings, nccl or mpi between real ranks.
std::string link_of(const BenchmarkCase& c, int real_ranks);

// Every non-empty timed step of `run` (a ring run of case `c`) as a sample, its compute time the
// median over iterations; `concurrency` ranks computed at once on a host.
std::vector<ComputeSample> compute_samples(const RunRecord& run, const BenchmarkCase& c,
                                           int concurrency);

}  // namespace ringbench
