// Test runner for both Catch2 versions; with RINGBENCH_TEST_MPI it owns MPI for the process.
#if !__has_include(<catch2/catch_all.hpp>)
#define CATCH_CONFIG_RUNNER
#endif
#include "tests/catch.hpp"

#ifdef RINGBENCH_TEST_MPI
#include "tests/MpiTestRuntime.hpp"

namespace ringbench::test {
const MpiRuntime* g_runtime = nullptr;
const MpiRuntime& runtime() { return *g_runtime; }
}  // namespace ringbench::test
#endif

int main(int argc, char** argv) {
#ifdef RINGBENCH_TEST_MPI
  ringbench::MpiRuntime rt(&argc, &argv);
  ringbench::test::g_runtime = &rt;
  const int failed = Catch::Session().run(argc, argv);
  // a failure on any rank fails the test on every rank
  const bool all_ok = ringbench::all_true(rt.world(), failed == 0);
  return all_ok ? 0 : 1;
#else
  return Catch::Session().run(argc, argv);
#endif
}
