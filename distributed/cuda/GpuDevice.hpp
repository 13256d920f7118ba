// One GPU per rank: chosen from the node-local rank (or an explicit ordinal), honouring a
// CUDA_VISIBLE_DEVICES that shows each rank a single GPU (Slurm --gpus-per-task), and refusing,
// on every rank with one message, more ranks on a host than it has GPUs.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "distributed/MpiRuntime.hpp"

namespace ringbench {

struct GpuInfo {
  int ordinal = 0;
  std::string name;
  std::string pci_bus_id;
  int sm_count = 0;
  int cc_major = 0, cc_minor = 0;
  std::size_t total_bytes = 0;
};

// Number of GPUs this process sees; 0 without a driver or device.
int visible_gpu_count();

// Chooses and activates this rank's GPU (collective). `requested` >= 0 forces an ordinal.
GpuInfo select_gpu(const MpiRuntime& rt, int requested);

// Driver, runtime and NCCL versions, and which visible GPUs can access which peers.
std::map<std::string, std::string> gpu_provenance();

}  // namespace ringbench
