// DeepSpeed-Ulysses on CPU ranks: an all-to-all turns this process's sequence shards of Q, K and V
// into head shards (heads / P heads, every token), each rank attends its heads over the whole
// sequence with the block kernel, and a second all-to-all brings O and LSE back to the sequence
// shards, where the check and the results read them as after a ring. Real ranks exchange with
// MPI_Ialltoall (bounded by the peer timeout); the virtual ranks of one process copy.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/StepTimer.hpp"
#include "ring/UlyssesShape.hpp"
#include "ring/cpu/CpuBlockKernel.hpp"

namespace ringbench {

class UlyssesRing {
 public:
  // `locals`: this process's ranks (one, or every virtual rank), their inputs generated.
  UlyssesRing(const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
              std::span<LocalRank> locals);
  // One forward pass of every local rank: step 0 the all-to-all in and the attention, step 1 the
  // all-to-all out.
  std::vector<IterationTiming> forward();
  // Bytes a rank holds for the scheme beside its backend (memory plan: ulysses_host_bytes).
  std::size_t bytes_per_rank() const;

 private:
  struct Member {
    LocalRank* local;
    std::vector<float> send, recv;     // [peer][chunk]
    std::vector<float> q, kv, o, lse;  // the rank's heads over every token
  };
  void pack_in(Member& m) const;
  void unpack_in(Member& m) const;
  void pack_out(Member& m) const;
  void unpack_out(Member& m) const;
  // The exchange of every member's [peer][chunk]; the ms each member's part took.
  std::vector<double> exchange(std::size_t chunk);

  const MpiRuntime& rt_;
  const SequenceLayout& layout_;
  UlyssesShape shape_;
  std::vector<PositionRun> all_runs_;
  std::vector<Member> members_;
  CpuBlockKernel kernel_;  // the full-sequence problem of a rank's heads
  bool virtual_ranks_;
};

// What UlyssesRing holds per rank, from the case alone.
std::size_t ulysses_host_bytes(const BenchmarkCase& c, int ranks);

}  // namespace ringbench
