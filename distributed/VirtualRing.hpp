// The ranks of a P-way ring simulated in one process (--virtual-ranks): every virtual rank's
// local K/V block, so a transport can deliver what the predecessor would have sent.
#pragma once

#include <vector>

namespace ringbench {

struct VirtualRing {
  std::vector<const void*> local_blocks;  // indexed by virtual rank
  // Where a link is not the ring's own (a double ring's inner or outer ring): the owner of the
  // block each exchange delivers, [rank][exchange of an iteration]. Empty: the ring's.
  std::vector<std::vector<int>> sources;

  // The owner of the block `rank` receives in exchange number `index` of an iteration: on the
  // ring, after index+1 hops it holds the block that started index+1 ranks back.
  int source(int rank, int index) const {
    if (!sources.empty())
      return sources[static_cast<std::size_t>(rank)].at(static_cast<std::size_t>(index));
    const int P = static_cast<int>(local_blocks.size());
    return ((rank - index - 1) % P + P) % P;
  }
};

}  // namespace ringbench
