// Every wait on another rank is bounded, and the rank that did not answer is named: the
// harness's collectives and the host ring transport, with a rank that stays away on purpose.
// Run under mpirun with 1..4 ranks; with one rank there is nobody to wait for.
#include <mpi.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "distributed/Collectives.hpp"
#include "distributed/MpiTransport.hpp"
#include "distributed/PeerWait.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {

// The message of the PeerTimeout that `wait` throws ("" when it returns).
template <typename Wait>
std::string timeout_message(Wait&& wait) {
  try {
    wait();
  } catch (const PeerTimeout& e) {
    return e.what();
  }
  return "";
}

constexpr double limit_s = 0.3;

// A rank that stops answering for a while, as a stopped or stuck one does. (One that skipped a
// collective and went on would instead answer the next collective early, which no rank does.)
void stall_past(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds + 0.5));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the root names the rank that never joins a gather", "[mpi][timeout]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() < 2) return;
  {
    const ScopedPeerTimeout limit(limit_s);
    const auto begin = std::chrono::steady_clock::now();
    if (rt.is_root()) {
      const std::string message = timeout_message([&] { gather(rt.world(), std::string("x")); });
      INFO(message);
      REQUIRE(contains(message, "rank 1 did not answer (gather) within 0.3 s"));
      REQUIRE(std::chrono::steady_clock::now() - begin < std::chrono::seconds(5));
    } else if (rt.rank() != 1) {
      gather(rt.world(), std::string("x"));  // sends and goes on
    } else {
      stall_past(limit_s);  // rank 1 stalls: it joins only the next collective
    }
  }
  barrier(rt.world());  // every rank in step again
}

TEST_CASE("ranks waiting for a root that never broadcasts name the root", "[mpi][timeout]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() < 2) return;
  {
    const ScopedPeerTimeout limit(limit_s);
    if (!rt.is_root()) {
      std::string text;
      const std::string message = timeout_message([&] { broadcast(rt.world(), text); });
      INFO(message);
      REQUIRE(contains(message, "rank 0 did not answer (broadcast)"));
    } else {
      stall_past(2 * limit_s);  // beyond the others' limit and the grace they allow the root
    }
  }
  barrier(rt.world());
}

TEST_CASE("collectives agree on values in rank order", "[mpi][timeout]") {
  const MpiRuntime& rt = runtime();
  REQUIRE(max_all(rt.world(), rt.rank()) == rt.size() - 1);
  REQUIRE(max_all(rt.world(), -1.5 * rt.rank()) == 0.0);
  REQUIRE(sum_all(rt.world(), 1.0) == rt.size());
  REQUIRE(all_true(rt.world(), true));
  REQUIRE_FALSE(all_true(rt.world(), rt.rank() != rt.size() - 1));
  REQUIRE(first_error(rt.world(), rt.rank() == 0 ? "" : "rank " + std::to_string(rt.rank())) ==
          (rt.size() > 1 ? "rank 1" : ""));
  std::vector<double> values{double(rt.rank()), 1.0};
  sum_all(rt.world(), std::span<double>(values));
  REQUIRE(values[0] == rt.size() * (rt.size() - 1) / 2.0);
  REQUIRE(values[1] == rt.size());
  const std::vector<long long> mine{rt.rank(), 10LL * rt.rank()};
  const std::vector<long long> all = gather(rt.world(), std::span<const long long>(mine));
  if (rt.is_root()) {
    REQUIRE(all.size() == 2u * rt.size());
    for (int r = 0; r < rt.size(); ++r) REQUIRE(all[2 * r + 1] == 10LL * r);
  }
}

TEST_CASE("the host ring transport names the neighbour whose block never comes", "[mpi][timeout]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() < 2) return;
  std::vector<char> send(64, 'k'), receive(64, 0);
  const int last = rt.size() - 1;
  if (rt.is_root()) {
    MpiTransport transport(rt.world(), 0.3);
    transport.start_exchange(send.data(), receive.data(), send.size());
    const std::string message = timeout_message([&] { transport.wait_exchange(); });
    INFO(message);
    REQUIRE(contains(message, "no K/V block from rank " + std::to_string(last) + " within 0.3 s"));
  } else if (rt.rank() == 1) {
    // take rank 0's block, so no stray message is left for later tests
    REQUIRE(MPI_Recv(receive.data(), 64, MPI_BYTE, 0, 0, rt.world(), MPI_STATUS_IGNORE) ==
            MPI_SUCCESS);
  }
  barrier(rt.world());
}
