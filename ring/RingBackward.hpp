// The ring attention backward pass, written once for every device against Transport,
// BlockBackwardKernel and StepTimer (bundled by RankBackend).
//
// Given O, dO and the final LSE of the forward pass, each rank keeps its queries and computes dQ
// locally while the K/V blocks travel the ring as in the forward. Each block carries its dK/dV
// accumulators one step behind its K/V: at step t a rank computes its share of the block in hand
// into a scratch buffer while the exchange brings the next block together with the accumulators
// of the block in hand (which the predecessor finished at its step t-1); then it folds its share
// in and passes the sum on with the next exchange. After the P-th hop every accumulator is back
// on its owner, with every rank's share: P-1 exchanges of (K, V, dK, dV) at steps 0..P-2, one of
// (dK, dV) at step P-1, and the hop home after it (the only transfer no compute can hide).
#pragma once

#include <span>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "ring/RankBackend.hpp"
#include "ring/RingSchedule.hpp"

namespace ringbench {

struct RingMember {
  const RingSchedule* schedule;
  RankBackend* backend;
};

// One backward pass of every ring rank this process runs: its own rank, or all virtual ranks in
// lockstep (every rank posts a hop's exchange before any rank waits for it). Leaves dQ in each
// backend's dq and the finished dK, dV of its own keys in dkv_home, and returns each rank's step
// timings: compute is the block kernel (step 0 also computes D); wait is the time after it until
// the next block is in (at the last step: until the accumulators are home). Folding a share into
// the travelling accumulator (2·head_dim adds per key and kv head) runs between steps: it counts
// in total_ms only. Virtual ranks take turns, so each one's total is the sum of its steps.
// `scheme`: a gathering scheme's blocks are all on every rank (from its forward), so only their
// dK/dV travel: P - 1 hops of the accumulators, none of K/V.
std::vector<IterationTiming> ring_attention_backward(std::span<const RingMember> members,
                                                     SchemeKind scheme = SchemeKind::ring);

}  // namespace ringbench
