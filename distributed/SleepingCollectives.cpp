#include "distributed/SleepingCollectives.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "distributed/MpiCheck.hpp"

namespace ringbench {

namespace {

// Tests the request, sleeping between tests: at first briefly (collectives at case boundaries
// complete within microseconds when every rank is there), then up to 20 ms (a waiting daemon rank
// then costs nothing measurable, and the job boundary is at most 20 ms late).
void wait_sleeping(MPI_Request& request) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    RINGBENCH_CHECK_MPI(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace

int max_all_sleeping(MPI_Comm comm, int value) {
  int out = 0;
  MPI_Request request = MPI_REQUEST_NULL;
  RINGBENCH_CHECK_MPI(MPI_Iallreduce(&value, &out, 1, MPI_INT, MPI_MAX, comm, &request));
  wait_sleeping(request);
  return out;
}

void broadcast_sleeping(MPI_Comm comm, std::string& text, int root) {
  unsigned long long n = text.size();
  MPI_Request request = MPI_REQUEST_NULL;
  RINGBENCH_CHECK_MPI(MPI_Ibcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, comm, &request));
  wait_sleeping(request);
  text.resize(n);  // every rank is here now: the payload follows at once
  RINGBENCH_CHECK_MPI(MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, root, comm));
}

}  // namespace ringbench
