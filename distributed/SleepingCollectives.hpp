// Collectives for ranks that may wait a long time in them: an idle daemon waiting for its next job,
// or the ranks outside a sub-ring while it runs a case. A blocking MPI call spins its core for the
// whole wait, which on shared or oversubscribed nodes slows down the ranks doing the work; these
// start the nonblocking collective and sleep between tests instead.
#pragma once

#include <mpi.h>

#include <string>

namespace ringbench {

// The largest `value` over the ranks, known to every rank.
int max_all_sleeping(MPI_Comm comm, int value);

// `text` of rank `root` on every rank.
void broadcast_sleeping(MPI_Comm comm, std::string& text, int root = 0);

}  // namespace ringbench
