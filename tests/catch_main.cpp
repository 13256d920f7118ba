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
#include <cstdio>

#include "distributed/cuda/GpuDevice.hpp"
#include "ring/BackendFactory.hpp"

// ctest reports exit code 77 as "Skipped" (SKIP_RETURN_CODE), so a machine without enough GPUs
// shows the GPU tests as skipped, with the reason in the output.
constexpr int kSkipped = 77;

bool enough_gpus(const ringbench::MpiRuntime& rt) {
  const int gpus = ringbench::visible_gpu_count();
  const bool ok =
      ringbench::all_true(rt.world(), gpus > 0 && (gpus == 1 || rt.local_size() <= gpus));
  if (!ok && rt.is_root())
    std::printf("GPU tests SKIPPED: %d GPU(s) visible for %d rank(s) on this host\n", gpus,
                rt.local_size());
  return ok;
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
