// Sub-rings for scaling runs (the first P ranks as a runtime of their own) and the sleeping
// collectives idle ranks wait in; run under mpirun with 1..4 ranks.
#include <memory>

#include "distributed/Collectives.hpp"
#include "ring/RingBenchmark.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

TEST_CASE("a sub-ring of the first P ranks runs a case on its own", "[mpi][subring]") {
  const MpiRuntime& rt = runtime();
  for (int ranks = 1; ranks <= rt.size(); ++ranks) {
    INFO("sub-ring of " << ranks << " of " << rt.size() << " ranks");
    const std::unique_ptr<MpiRuntime> ring = MpiRuntime::first_ranks(rt, ranks);
    REQUIRE((ring != nullptr) == (rt.rank() < ranks));
    if (ring) {
      REQUIRE(ring->size() == ranks);
      REQUIRE(ring->rank() == rt.rank());
      REQUIRE(ring->local_rank() == rt.local_rank());  // a prefix keeps each host's order
      REQUIRE(ring->is_root() == rt.is_root());
      BenchmarkCase c;
      c.spec.heads = 2;
      c.spec.head_dim = 32;
      c.spec.seq_len = 2 * ranks * 24;
      c.spec.mask = "causal";
      c.layout = LayoutKind::zigzag;
      c.warmup = 0;
      c.iters = 1;
      c.check = true;
      const BenchmarkOutcome out = run_ring_benchmark(c, *ring);
      REQUIRE_FALSE(out.check_failed);
      if (ring->is_root()) {
        REQUIRE(out.record.world_size == ranks);
        REQUIRE(out.record.ranks.size() == std::size_t(ranks));
        REQUIRE(out.record.check->rel_err < 1e-6);
      }
    }
    // The ranks outside waited here; everyone meets again before the next size.
    REQUIRE(max_all(rt.world(), ranks, WaitPace::patient) == ranks);
  }
}

TEST_CASE("sleeping collectives agree like blocking ones", "[mpi][subring]") {
  const MpiRuntime& rt = runtime();
  REQUIRE(max_all(rt.world(), rt.rank(), WaitPace::patient) == rt.size() - 1);
  std::string text = rt.is_root() ? std::string("job text\0with a NUL", 19) : "other";
  broadcast(rt.world(), text, 0, WaitPace::patient);
  REQUIRE(text == std::string("job text\0with a NUL", 19));
  std::string empty = rt.is_root() ? "" : "not empty";
  broadcast(rt.world(), empty, 0, WaitPace::patient);
  REQUIRE(empty.empty());
}
