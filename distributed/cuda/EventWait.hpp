// Waiting for GPU work without the chance of hanging forever: polls the event, lets the caller
// poll its own error state (NCCL), and gives up after a deadline.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "distributed/cuda/CudaCheck.hpp"

namespace ringbench {

// Returns once `event` completed; `poll` runs between checks and may throw; `on_timeout` runs
// (and should throw) when `timeout_s` passes first.
template <typename Poll, typename OnTimeout>
void wait_with_deadline(cudaEvent_t event, double timeout_s, Poll&& poll, OnTimeout&& on_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (int polls = 0;; ++polls) {
    const cudaError_t state = cudaEventQuery(event);
    if (state == cudaSuccess) return;
    if (state != cudaErrorNotReady) RINGBENCH_CHECK_CUDA(state);
    poll();
    if (std::chrono::steady_clock::now() > deadline) on_timeout();
    // spin briefly (most waits end within microseconds), then stop burning the core
    if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

inline void wait_with_deadline(cudaEvent_t event, double timeout_s) {
  wait_with_deadline(
      event, timeout_s, [] {},
      [timeout_s] {
        throw LibraryError("CUDA: GPU work did not finish within " + std::to_string(timeout_s) +
                           " s");
      });
}

}  // namespace ringbench
