#include "apps/RingPool.hpp"

namespace ringbench {

const MpiRuntime* RingPool::ring(int ranks) {
  if (ranks == job_.size()) return &job_;
  auto it = rings_.find(ranks);
  if (it == rings_.end()) it = rings_.emplace(ranks, MpiRuntime::first_ranks(job_, ranks)).first;
  return it->second.get();
}

}  // namespace ringbench
