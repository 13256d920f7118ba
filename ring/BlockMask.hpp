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

  // True when no query may attend to any key of the block: the step computes nothing.
  bool empty() const {
    for (const auto& q : q_runs)
      for (const auto& k : kv_runs)
        if (pattern->coverage(q.first(), q.last(), k.first(), k.last()) != Coverage::none)
          return false;
    return true;
  }
};

}  // namespace ringbench
