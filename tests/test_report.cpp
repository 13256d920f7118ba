// Results people read: the Chrome-trace spans rebuilt from a run's step timings, the JSON text the
// trace and export write, export records and CSV quoting, and the regression comparison.
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/ChromeTrace.hpp"
#include "core/JsonWriter.hpp"
#include "core/ResultsComparison.hpp"
#include "core/ResultsExport.hpp"
#include "core/RunSummary.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

// 2 iterations x 3 ranks x 3 steps with distinct, readable timings: compute (1 + rank + step) ms,
// wait 0.5 ms at step 1 only, transfer 0.25 ms per step but the last.
RunRecord synthetic_run(double scale = 1.0) {
  RunRecord r;
  r.config = {{"seq-len", "4096"}, {"batch", "1"},     {"heads", "4"},       {"kv-heads", "4"},
              {"head-dim", "64"},  {"mask", "causal"}, {"layout", "zigzag"}, {"kernel", "cpu"},
              {"dtype", "fp32"},   {"iters", "2"},     {"seed", "42"},       {"device", "cpu"}};
  r.world_size = 3;
  r.iterations = 2;
  r.steps = 3;
  for (int i = 0; i < 2; ++i)
    for (int rank = 0; rank < 3; ++rank) {
      double total = 0;
      for (int s = 0; s < 3; ++s) {
        r.compute_ms.push_back(scale * (1.0 + rank + s));
        r.wait_ms.push_back(scale * (s == 1 ? 0.5 : 0.0));
        r.comm_ms.push_back(scale * (s < 2 ? 0.25 : 0.0));
        total += r.compute_ms.back() + r.wait_ms.back();
      }
      r.total_ms.push_back(total + 0.1 * scale);
      r.wall_ms.push_back(total + 0.2 * scale);
    }
  for (int rank = 0; rank < 3; ++rank)
    for (int s = 0; s < 3; ++s) {
      r.bytes_sent.push_back(s < 2 ? 1000 * (rank + 1) : 0);
      r.step_flops.push_back(1e6 * (rank + 1));
    }
  summarize_run(r, 9e6, 4096);
  r.summary["peak_mem_bytes"] = 3.0 * 1024 * 1024;
  r.summary["bytes_per_token"] = 2048;
  return r;
}

std::vector<TraceSpan> spans_named(const std::vector<TraceSpan>& all, const std::string& name) {
  std::vector<TraceSpan> out;
  for (const auto& s : all)
    if (s.name == name) out.push_back(s);
  return out;
}

const ExportValue& field(const ExportRecord& r, const std::string& name) {
  for (const auto& [k, v] : r.fields)
    if (k == name) return v;
  FAIL("no field " << name);
  static ExportValue none;
  return none;
}

}  // namespace

TEST_CASE("trace spans follow the ring's execution order", "[trace]") {
  const RunRecord run = synthetic_run();
  const auto spans = trace_spans(run, 100.0);
  const auto compute = spans_named(spans, "compute"), wait = spans_named(spans, "wait"),
             transfer = spans_named(spans, "send/recv");
  REQUIRE(compute.size() == 2 * 3 * 3);  // every iteration, rank and step
  REQUIRE(wait.size() == 2 * 3 * 3);
  REQUIRE(transfer.size() == 2 * 3 * 2);  // the last step passes nothing on

  // Iteration 0, rank 1: compute 2, 3, 4 ms; step 1 waits 0.5 ms; so step 2 starts at 2 + 3 + 0.5.
  auto find = [&](const std::vector<TraceSpan>& v, int i, int rank, int step) {
    for (const auto& s : v)
      if (s.iteration == i && s.rank == rank && s.step == step) return s;
    FAIL("span missing");
    return TraceSpan{};
  };
  REQUIRE(find(compute, 0, 1, 0).begin_ms == Approx(100.0));
  REQUIRE(find(compute, 0, 1, 2).begin_ms == Approx(105.5));
  REQUIRE(find(compute, 0, 1, 2).duration_ms == Approx(4.0));
  REQUIRE(find(wait, 0, 1, 1).begin_ms == Approx(105.0));
  REQUIRE(find(wait, 0, 1, 1).duration_ms == Approx(0.5));
  REQUIRE(find(compute, 0, 1, 1).flops == Approx(2e6));

  // The transfer starts with its step's compute, carries what this rank sends and what the
  // previous rank (0) sends to it.
  const TraceSpan x = find(transfer, 0, 1, 1);
  REQUIRE(x.track == TraceTrack::communication);
  REQUIRE(x.begin_ms == Approx(find(compute, 0, 1, 1).begin_ms));
  REQUIRE(x.measured_ms == Approx(0.25));
  REQUIRE(x.bytes_sent == 2000);
  REQUIRE(x.bytes_received == 1000);
  REQUIRE(find(transfer, 0, 0, 0).bytes_received == 3000);  // rank 0 receives from rank 2

  // Iteration 1 starts when the slowest rank (2: 3 + 4.5 + 5 ms + 0.1 overhead) finished.
  const std::vector<double> starts = iteration_starts_ms(run);
  REQUIRE(starts.size() == 3);
  REQUIRE(starts[1] == Approx(12.6));
  for (int rank = 0; rank < 3; ++rank) REQUIRE(find(compute, 1, rank, 0).begin_ms == Approx(112.6));
}

TEST_CASE("a trace of a run with inconsistent arrays is refused", "[trace]") {
  RunRecord run = synthetic_run();
  run.wait_ms.pop_back();
  REQUIRE_THROWS_AS(trace_spans(run), std::runtime_error);
}

TEST_CASE("JSON text: escaped strings, exact numbers, null for non-finite", "[json]") {
  REQUIRE(json_escape("a\"b\\c\nd\te\x01") == "a\\\"b\\\\c\\nd\\te\\u0001");
  REQUIRE(json_escape("µs ok") == "µs ok");
  for (double v : {0.1, 1.0 / 3.0, 12.345678901234567, 1e-300, 6.02e23, -2.5}) {
    REQUIRE(std::strtod(json_number(v).c_str(), nullptr) == v);
  }
  REQUIRE(json_number(0.25) == "0.25");
  REQUIRE(json_number(std::nan("")) == "null");
  REQUIRE(json_number(INFINITY) == "null");

  std::ostringstream out;
  JsonWriter j(out);
  j.begin_object()
      .key("a")
      .value(1)
      .key("b")
      .begin_array()
      .value("x")
      .null()
      .value(true)
      .end_array();
  j.key("c").begin_object().end_object().end_object();
  REQUIRE(out.str() == R"({"a":1,"b":["x",null,true],"c":{}})");
}

TEST_CASE("export records carry the suites' fields and the run's numbers", "[export]") {
  const RunRecord run = synthetic_run();
  const ExportRecord r = export_record("000007", run);
  REQUIRE(std::get<std::string>(field(r, "run_id")) == "000007");
  REQUIRE(std::get<std::string>(field(r, "block_name")) == "ring_cpu_zigzag");
  REQUIRE(std::get<long long>(field(r, "sequence_length")) == 4096);
  REQUIRE(std::get<long long>(field(r, "batch_size")) == 1);
  REQUIRE(std::get<double>(field(r, "forward_time_mean")) == run.summary.at("mean_ms"));
  REQUIRE(std::get<double>(field(r, "forward_time_median")) == run.summary.at("median_ms"));
  REQUIRE(std::get<double>(field(r, "forward_time_std")) == run.summary.at("std_ms"));
  REQUIRE(std::holds_alternative<std::monostate>(field(r, "backward_time_mean")));
  REQUIRE(std::get<double>(field(r, "total_time_max")) == run.summary.at("max_ms"));
  REQUIRE(std::get<double>(field(r, "peak_memory_mb")) == Approx(3.0));
  REQUIRE(std::get<double>(field(r, "memory_efficiency_mb_per_token")) ==
          Approx(2048.0 / (1024 * 1024)));
  REQUIRE(std::get<double>(field(r, "throughput_tokens_per_sec")) ==
          run.summary.at("tokens_per_s"));
  REQUIRE(std::holds_alternative<std::monostate>(field(r, "check_passed")));

  REQUIRE(std::get<long long>(typed_config_value("4096")) == 4096);
  REQUIRE(std::get<double>(typed_config_value("0.125")) == 0.125);
  REQUIRE(std::get<bool>(typed_config_value("false")) == false);
  REQUIRE(std::get<std::string>(typed_config_value("zigzag")) == "zigzag");
}

TEST_CASE("CSV export: one header, one row per record, fields quoted when needed", "[export]") {
  RunRecord run = synthetic_run();
  run.status = "failed";
  run.provenance["compiler"] = "gcc \"12\", with, commas";
  std::ostringstream out;
  write_export_csv({export_record("000000", run), export_record("000001", synthetic_run())}, out);
  std::istringstream lines(out.str());
  std::string header, first, second, extra;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  REQUIRE_FALSE(std::getline(lines, extra));
  REQUIRE(header.rfind("run_id,block_name,status,sequence_length,batch_size,", 0) == 0);
  REQUIRE(header.find("config.seq-len") != std::string::npos);
  REQUIRE(first.find("\"gcc \"\"12\"\", with, commas\"") != std::string::npos);
  REQUIRE(first.find(",failed,4096,1,") != std::string::npos);
  REQUIRE(second.rfind("000001,ring_cpu_zigzag,ok,4096,1,", 0) == 0);
}

TEST_CASE("compare matches cases by configuration and flags slowdowns beyond the threshold",
          "[compare]") {
  RunRecord other = synthetic_run();
  other.config[0].second = "8192";  // another sequence length: a case of its own
  RunRecord rerun = synthetic_run();
  rerun.config[9].second = "50";  // more iterations and another seed: still the same case
  rerun.config[10].second = "7";
  const std::vector<IdentifiedRun> base = {{"000000", synthetic_run()}, {"000001", other}};

  const Comparison slower =
      compare_runs(base, {{"000000", rerun}, {"000001", synthetic_run(1.3)}}, 0.2);
  REQUIRE(slower.matched.size() == 1);
  REQUIRE(slower.matched[0].ratio == Approx(1.3).epsilon(1e-9));
  REQUIRE(slower.matched[0].verdict == Verdict::slower);
  REQUIRE(slower.matched[0].new_id == "000001");  // the newest run of the case
  REQUIRE(slower.slower() == 1);
  REQUIRE(slower.only_base.size() == 1);  // the 8192 case, listed rather than dropped
  REQUIRE(slower.only_base[0].id == "000001");
  REQUIRE(slower.only_new.empty());

  RunRecord slower10 = synthetic_run(1.1);
  const Comparison fine = compare_runs(base, {{"000000", slower10}}, 0.2);
  REQUIRE(fine.matched[0].verdict == Verdict::same);
  REQUIRE(fine.slower() == 0);

  RunRecord failed = synthetic_run();
  failed.status = "failed";
  failed.error = "out of memory";
  RunRecord more_ranks = synthetic_run();
  more_ranks.world_size = 6;  // the same config on another ring size is another case
  const Comparison odd = compare_runs(base, {{"000000", failed}, {"000001", more_ranks}}, 0.2);
  REQUIRE(odd.matched.empty());
  REQUIRE(odd.only_new.size() == 2);
  REQUIRE(odd.only_new[0].reason.find("out of memory") != std::string::npos);
  REQUIRE(odd.only_base.size() == 2);
}
