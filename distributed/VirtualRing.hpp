// The ranks of a P-way ring simulated in one process (--virtual-ranks): every virtual rank's
// local K/V block, so a transport can deliver what the predecessor would have sent.
#pragma once

#include <vector>

namespace ringbench {

struct VirtualRing {
  std::vector<const void*> local_blocks;  // indexed by virtual rank

  // The owner of the block `rank` receives in exchange number `index` of an iteration: after
  // index+1 hops it holds the block that started index+1 ranks back.
  int source(int rank, int index) const {
    const int P = static_cast<int>(local_blocks.size());
    return ((rank - index - 1) % P + P) % P;
  }
};

}  // namespace ringbench
