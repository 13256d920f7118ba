// The rings a sweep runs its cases on: the whole job, or sub-rings of its first P ranks (scaling
// series). A sub-ring is made once and kept, like the NCCL communicator the CUDA backend keeps
// for each ring, so a daemon splits its communicators only the first time a size is asked for.
#pragma once

#include <map>
#include <memory>

#include "distributed/MpiRuntime.hpp"

namespace ringbench {

class RingPool {
 public:
  explicit RingPool(const MpiRuntime& job) : job_(job) {}

  // The runtime of the first `ranks` ranks, or nullptr on the ranks outside it. Collective over
  // the job (every rank asks for the same sizes in the same order).
  const MpiRuntime* ring(int ranks);

  const MpiRuntime& job() const { return job_; }

 private:
  const MpiRuntime& job_;
  std::map<int, std::unique_ptr<MpiRuntime>> rings_;  // null value: this rank is outside that ring
};

}  // namespace ringbench
