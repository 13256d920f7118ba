// What one ring step asks of a block kernel: which of this rank's queries may attend to which keys
// of the block it holds. Carries positions (as runs) and the pattern, never a dense mask, so new
// patterns need no change here or in the ring.
#pragma once

#include <span>

#include "core/AttentionPattern.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

struct BlockMask {
  const AttentionPattern* pattern = nullptr;
  std::span<const PositionRun> q_runs;   // this rank's queries
  std::span<const PositionRun> kv_runs;  // the keys of the block's owner
  int kv_owner = 0;
  // No query may attend to any key of the block, in any head: the step computes nothing (and
  // launches nothing). Set from the exact pair count by RingSchedule, once per step.
  bool nothing_allowed = false;

  bool empty() const { return nothing_allowed; }
};

}  // namespace ringbench
