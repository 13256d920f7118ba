// DeepSpeed-Ulysses on CPU ranks: an all-to-all turns this process's sequence shards of Q, K and V
// into head shards (heads / P heads, every token), each rank attends its heads over the whole
// sequence with the block kernel, and a second all-to-all brings O and LSE back to the sequence
// shards, where the check and the results read them as after a ring. The backward reverses it:
// an all-to-all of dO to the head shards (Q, K, V, O and LSE are still there from the forward),
// each rank's heads' gradients over the whole sequence, an all-to-all of dQ, dK, dV back (a kv
// head replicated to several ranks gets the sum of their shares). Real ranks exchange one
// send/receive per peer (bounded by the peer timeout); the virtual ranks of one process copy.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/StepTimer.hpp"
#include "ring/UlyssesShape.hpp"
#include "ring/cpu/CpuBackwardKernel.hpp"
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
  // One backward pass of every local rank, after a forward (whose head shards it reads): step 0
  // the all-to-all of dO and the gradients, step 1 the all-to-all of dQ, dK, dV. Leaves dQ and
  // dK, dV (dkv_home) in each backend's buffers, as the ring's backward does.
  std::vector<IterationTiming> backward();

 private:
  struct Member {
    LocalRank* local;
    std::vector<float> send, recv;           // [peer][chunk]
    std::vector<float> q, kv, o, lse;        // the rank's heads over every token
    std::vector<float> d_o, dq, delta, dkv;  // the backward's, the same heads (empty in fwd)
  };
  // What a pass does, in order, for every member: pack its chunks for the peers, exchange them,
  // unpack, compute, pack the results, exchange them, unpack. Step 0 times the first exchange and
  // the compute, step 1 the second exchange.
  struct Phases {
    void (UlyssesRing::*pack_in)(Member&) const;
    std::int64_t in_chunk;
    void (UlyssesRing::*unpack_in)(Member&) const;
    void (UlyssesRing::*compute)(Member&);
    void (UlyssesRing::*pack_out)(Member&) const;
    std::int64_t out_chunk;
    void (UlyssesRing::*unpack_out)(Member&) const;
  };
  std::vector<IterationTiming> run(const Phases& phases);

  void pack_in(Member& m) const;
  void unpack_in(Member& m) const;
  void attend(Member& m);
  void pack_out(Member& m) const;
  void unpack_out(Member& m) const;
  void pack_grad_in(Member& m) const;
  void unpack_grad_in(Member& m) const;
  void attend_backward(Member& m);
  void pack_grad_out(Member& m) const;
  void unpack_grad_out(Member& m) const;
  // The exchange of every member's [peer][chunk]; the ms each member's part took.
  std::vector<double> exchange(std::size_t chunk);

  const MpiRuntime& rt_;
  const SequenceLayout& layout_;
  UlyssesShape shape_;
  std::vector<PositionRun> all_runs_;
  std::vector<Member> members_;
  CpuBlockKernel kernel_;                             // the full-sequence problem of a rank's heads
  std::optional<CpuBackwardKernel> backward_kernel_;  // the same, for cases with a backward
  BlockMask all_;                                     // every token against every token
  bool virtual_ranks_;
};

}  // namespace ringbench
