// LoongTrain's double ring (doublering:I; Gu et al., "LoongTrain: Efficient Training of
// Long-Sequence LLMs with Head-Context Parallelism", 2024): the P ranks form inner rings of I
// consecutive ranks (one node, say), and the ranks at the same place of every inner ring form an
// outer ring (across nodes). Each outer step runs one inner ring: the I blocks of one inner ring
// pass round, one hop per step, while the outer ring brings every rank the first block of the next
// outer step from the previous inner ring, overlapping all I steps (ring/DoubleRingTopology has
// the order). The same P steps and bytes as the ring, but only P/I - 1 of the P - 1 hops of a
// rank cross the outer links, each with I steps of compute to hide behind.
//
// The backward runs the ring's own lagged accumulators (ring/RingBackward) inside each inner
// ring, whose last hop brings an outer step's dK/dV share of the inner ring to the block's first
// holder there; the outer ring then carries the K/V blocks ahead as in the forward and the dK/dV
// sums one outer step behind them, each inner ring adding its share, until a last outer hop brings
// them home. Written once against RankBackend: the inner ring on transport() and
// backward_transport(), the outer ring on outer_transport() and outer_accumulator_transport().
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/DoubleRingTopology.hpp"
#include "ring/RowCopier.hpp"
#include "ring/StepTimer.hpp"

namespace ringbench {

class DoubleRing {
 public:
  // `locals`: this process's ranks (one, or every virtual rank), their backends made for the
  // double ring (make_local_ranks). Allocates the backward's outer accumulators.
  DoubleRing(const BenchmarkCase& c, std::span<LocalRank> locals);
  // One forward pass of every local rank (virtual ranks in turn: the blocks they copy are their
  // owners' local blocks, which do not change).
  std::vector<IterationTiming> forward();
  // One backward pass of every local rank, after a forward, virtual ranks in lockstep. Leaves dQ
  // and dK, dV (dkv_home) in each backend's buffers, as the ring's does.
  std::vector<IterationTiming> backward();

 private:
  struct Member {
    LocalRank* local;
    std::shared_ptr<std::byte> accumulators;  // the backward's two dK/dV sums on the outer ring
  };
  IterationTiming forward(Member& m) const;

  DoubleRingTopology topology_;
  std::unique_ptr<RowCopier> copy_;  // in the memory the ranks compute in
  std::vector<Member> members_;
};

}  // namespace ringbench
