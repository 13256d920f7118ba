// Test runner for both Catch2 versions; with RINGBENCH_TEST_MPI it owns MPI for the process.
#if !__has_include(<catch2/catch_all.hpp>)
#define CATCH_CONFIG_RUNNER
#endif
#include "tests/catch.hpp"

#ifdef RINGBENCH_TEST_MPI
#include "tests/MpiTestRuntime.hpp"

namespace ringbench::test {
const MpiRuntime* g_runtime = nullptr;
const MpiRuntime& runtime() {
  return *g_runtime;
}
}  // namespace ringbench::test
#endif

#ifdef RINGBENCH_TEST_GPU
#include <cuda_runtime.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "distributed/cuda/GpuDevice.hpp"
#include "ring/BackendFactory.hpp"

// ctest reports exit code 77 as "Skipped" (SKIP_RETURN_CODE), so a machine without enough GPUs
// shows the GPU tests as skipped, with the reason in the output.
constexpr int kSkipped = 77;

// Enough when every rank on a host has a GPU of its own: one ordinal each, or (each process
// shown a single GPU, as Slurm --gpus-per-task does) different physical GPUs. Ranks that would
// share one GPU are refused by ringbench itself, so the tests skip there rather than fail.
bool own_gpu_each(const ringbench::MpiRuntime& rt, int gpus) {
  if (gpus <= 0) return false;
  if (rt.local_size() <= gpus) return true;
  if (gpus != 1) return false;
  char bus[32] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, 0) != cudaSuccess) return false;
  const std::vector<std::string> buses = ringbench::gather(rt.node(), std::string(bus));
  const std::set<std::string> distinct(buses.begin(), buses.end());
  return distinct.size() == buses.size();  // known on the host's first rank only
}

bool enough_gpus(const ringbench::MpiRuntime& rt) {
  const int gpus = ringbench::visible_gpu_count();
  const bool ok = ringbench::all_true(rt.world(), own_gpu_each(rt, gpus) || rt.local_rank() != 0);
  const bool all_ok = ok && ringbench::all_true(rt.world(), gpus > 0);
  if (!all_ok && rt.is_root())
    std::printf(
        "GPU tests SKIPPED: %d GPU(s) visible for %d rank(s) on this host (a GPU per "
        "rank needed)\n",
        gpus, rt.local_size());
  return all_ok;
}
#endif

int main(int argc, char** argv) {
#ifdef RINGBENCH_TEST_MPI
  ringbench::MpiRuntime rt(&argc, &argv);
  ringbench::test::g_runtime = &rt;
#ifdef RINGBENCH_TEST_GPU
  if (!enough_gpus(rt)) return kSkipped;
  struct Release {
    ~Release() { ringbench::release_device_resources(); }
  } release;
#endif
  const int failed = Catch::Session().run(argc, argv);
  // a failure on any rank fails the test on every rank
  const bool all_ok = ringbench::all_true(rt.world(), failed == 0);
  return all_ok ? 0 : 1;
#else
  return Catch::Session().run(argc, argv);
#endif
}
