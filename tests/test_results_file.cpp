// The HDF5 results file: what is written reads back equal; appends keep earlier runs; files that
// are not ringbench results are refused.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/Error.hpp"
#include "core/ResultsFile.hpp"
#include "core/RunSummary.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("ringbench-test-" + std::to_string(::getpid()) + "-" + name);
}

RunRecord sample_run() {
  RunRecord r;
  r.config = {{"seq-len", "4096"}, {"mask", "causal"}, {"layout", "zigzag"}, {"pass", "fwd"}};
  r.provenance = {{"created_utc", "2026-11-21T00:00:00Z"}, {"hostnames", "a,b"}};
  r.world_size = 2;
  r.iterations = 3;
  r.steps = 2;
  r.ranks = {{0, "a", 0, "cpu", ""}, {1, "b", 0, "cpu", ""}};
  for (int i = 0; i < 12; ++i) {
    r.compute_ms.push_back(1.0 + i);
    r.comm_ms.push_back(0.5 * i);
    r.wait_ms.push_back(0.01 * i);
  }
  r.total_ms = {3, 4, 5, 6, 7, 8};
  r.wall_ms = {3.5, 4.5, 5.5, 6.5, 7.5, 8.5};
  r.bytes_sent = {100, 0, 100, 0};
  r.step_flops = {1e9, 2e9, 3e9, 4e9};
  summarize_run(r, 1e10, 4096);
  r.check = CheckResult{1e-7, 2e-6, 3e-6, 1e-5, true, std::nullopt, 64};
  r.tensors.push_back({"LSE", {1, 2, 3}, {1, 2, 3, 4, 5, 6}});
  return r;
}

}  // namespace

TEST_CASE("a run written to the results file reads back equal", "[hdf5]") {
  const fs::path file = temp_path("roundtrip.h5");
  fs::remove(file);
  const RunRecord run = sample_run();
  REQUIRE(append_run(file, run) == "000000");
  REQUIRE(append_run(file, run) == "000001");  // appended, the first run kept
  REQUIRE(list_runs(file) == std::vector<std::string>{"000000", "000001"});

  const RunRecord back = read_run(file, "000001");
  REQUIRE(back.config == run.config);
  REQUIRE(back.provenance == run.provenance);
  REQUIRE(back.world_size == 2);
  REQUIRE(back.iterations == 3);
  REQUIRE(back.steps == 2);
  REQUIRE(back.compute_ms == run.compute_ms);
  REQUIRE(back.comm_ms == run.comm_ms);
  REQUIRE(back.wait_ms == run.wait_ms);
  REQUIRE(back.total_ms == run.total_ms);
  REQUIRE(back.wall_ms == run.wall_ms);
  REQUIRE(back.bytes_sent == run.bytes_sent);
  REQUIRE(back.step_flops == run.step_flops);
  REQUIRE(back.summary == run.summary);
  REQUIRE(back.ranks.size() == 2);
  REQUIRE(back.ranks[1].host == "b");
  REQUIRE(back.check.has_value());
  REQUIRE(back.check->passed);
  REQUIRE(back.check->rel_err == run.check->rel_err);
  REQUIRE(back.check->rows == 64);  // a sampled-rows check says so
  REQUIRE(back.tensors.size() == 1);
  REQUIRE(back.tensors[0].shape == run.tensors[0].shape);
  REQUIRE(back.tensors[0].values == run.tensors[0].values);
  // no temporary copy is left behind
  for (const auto& entry : fs::directory_iterator(file.parent_path()))
    REQUIRE(entry.path().string().find(file.filename().string() + ".tmp") == std::string::npos);
  fs::remove(file);
  fs::remove(file.string() + ".lock");
}

TEST_CASE("summary numbers follow from the timings", "[hdf5][summary]") {
  const RunRecord r = sample_run();
  // slowest rank per iteration: 4, 6, 8 -> median 6 ms
  REQUIRE(r.summary.at("median_ms") == 6.0);
  REQUIRE(r.summary.at("tflops_per_rank") == Approx(1e10 / 2 / 6e-3 / 1e12));
  REQUIRE(r.summary.at("bytes_sent_per_rank") == 100.0);
}

TEST_CASE("an existing file that is not a ringbench results file is refused", "[hdf5]") {
  const fs::path file = temp_path("notes.h5");
  std::ofstream(file) << "not hdf5";
  REQUIRE_THROWS_AS(check_results_file_usable(file), ConfigError);
  REQUIRE_THROWS_AS(append_run(file, sample_run()),
                    LibraryError);  // aborts the job, never exit 2 on one rank
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  REQUIRE(text == "not hdf5");  // left untouched
  fs::remove(file);
  fs::remove(file.string() + ".lock");
  REQUIRE_THROWS_AS(check_results_file_usable("/no/such/folder/r.h5"), ConfigError);
}

TEST_CASE("an append removes the copies killed appends left, and nothing else", "[hdf5]") {
  const fs::path file = temp_path("stale.h5");
  fs::remove(file);
  REQUIRE(append_run(file, sample_run()) == "000000");
  // Copies of killed appends: one of a pid that is gone, one of a live pid (as a copy from another
  // host sharing the folder may look): under the lock neither can be an append in progress.
  const fs::path gone = file.string() + ".tmp.999999999";
  const fs::path alive = file.string() + ".tmp.1";
  fs::copy_file(file, gone);
  fs::copy_file(file, alive);
  const std::vector<fs::path> unrelated = {file.string() + ".tmp.12x", file.string() + ".tmp.",
                                           file.string() + ".tmp.7.keep", file.string() + ".tmpx.3",
                                           temp_path("x" + file.filename().string() + ".tmp.4")};
  for (const auto& p : unrelated) std::ofstream(p) << "keep me";

  REQUIRE(append_run(file, sample_run()) == "000001");
  REQUIRE_FALSE(fs::exists(gone));
  REQUIRE_FALSE(fs::exists(alive));
  for (const auto& p : unrelated) {
    INFO(p);
    REQUIRE(fs::exists(p));
    fs::remove(p);
  }
  REQUIRE(list_runs(file) == std::vector<std::string>{"000000", "000001"});
  fs::remove(file);
  fs::remove(file.string() + ".lock");
}
