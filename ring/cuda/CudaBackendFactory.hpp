// The CUDA side of BackendFactory: chooses this rank's GPU, plans its memory (refusing a case
// that does not fit, on every rank, with the numbers), and wires each backend to its transport:
// NCCL between ranks, or device copies between the virtual ranks of one GPU.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "core/SequenceLayout.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/EmulatedRing.hpp"
#include "ring/RankBackend.hpp"

namespace ringbench {

// `emulated`: the blocks of an emulated ring's members (one backend, playing `ranks` in turn).
std::vector<std::unique_ptr<RankBackend>> make_cuda_backends(
    const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
    const std::vector<int>& ranks, std::shared_ptr<const EmulatedBlocks> emulated = nullptr);

// The NCCL communicators (one per ring: the job, or a sub-ring of a scaling sweep) are made once
// and kept for later cases; released here, before MPI is finalised.
void release_cuda_resources();

// Free and total bytes of this process's current GPU.
std::pair<double, double> cuda_memory_info();

}  // namespace ringbench
