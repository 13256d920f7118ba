// The backward passes of every ring rank this process runs, in lockstep: at each hop every rank
// posts its exchanges (send) before any rank waits for them (finish), so the virtual ranks of one
// process can relay what their predecessors sent (a real rank is a lockstep of one). A pass is
// any class with begin(), hops(), send(hop), finish(hop) and end(alone): the ring's
// (ring/RingBackward), the gathering schemes', the double ring's (ring/DoubleRing).
#pragma once

#include <vector>

#include "ring/StepTimer.hpp"

namespace ringbench {

template <class Pass>
std::vector<IterationTiming> run_in_lockstep(std::vector<Pass>& passes) {
  for (auto& p : passes) p.begin();
  const int hops = passes.front().hops();
  for (int hop = 0; hop < hops; ++hop) {
    for (auto& p : passes) p.send(hop);  // every rank posts before any rank waits
    for (auto& p : passes) p.finish(hop);
  }
  std::vector<IterationTiming> timings;
  for (auto& p : passes) timings.push_back(p.end(passes.size() == 1));
  return timings;
}

}  // namespace ringbench
