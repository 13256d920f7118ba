// The backward pass in options, validation, summaries, the results file (schema 2, and reading
// version-1 files) and the export records.
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>

#include "apps/CaseOptions.hpp"
#include "core/Error.hpp"
#include "core/ResultsExport.hpp"
#include "core/ResultsFile.hpp"
#include "core/RunSummary.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("ringbench-bwd-" + std::to_string(::getpid()) + "-" + name);
}

ConfigError refusal(const BenchmarkCase& c) {
  try {
    validate(c, 1);
  } catch (const ConfigError& e) {
    return e;
  }
  FAIL("accepted");
  return ConfigError("", "", "");
}

// 2 iterations x 2 ranks, both passes timed: forward steps take 1 ms, backward steps 2.5 ms,
// rank 1 is 10 % slower in both.
RunRecord fwdbwd_run() {
  RunRecord r;
  r.config = {{"seq-len", "1024"}, {"layout", "striped"}, {"pass", "fwdbwd"}};
  r.world_size = 2;
  r.iterations = 2;
  r.steps = 4;
  for (const char* name : {"forward", "backward"}) {
    const double step = name == std::string("forward") ? 1.0 : 2.5;
    PassTiming& p = r.passes[name];
    p.flops = name == std::string("forward") ? 4e9 : 1e10;
    for (int i = 0; i < 2; ++i)
      for (int rank = 0; rank < 2; ++rank) {
        for (int s = 0; s < 2; ++s) {
          p.compute_ms.push_back(step * (rank ? 1.1 : 1.0));
          p.comm_ms.push_back(0.1);
          p.wait_ms.push_back(0.0);
        }
        p.total_ms.push_back(2 * step * (rank ? 1.1 : 1.0));
        p.wall_ms.push_back(p.total_ms.back() + 0.01);
      }
  }
  const PassTiming &f = r.passes["forward"], &b = r.passes["backward"];
  for (std::size_t cell = 0; cell < 4; ++cell) {
    for (const PassTiming* p : {&f, &b})
      for (std::size_t s = 0; s < 2; ++s) {
        r.compute_ms.push_back(p->compute_ms[cell * 2 + s]);
        r.comm_ms.push_back(p->comm_ms[cell * 2 + s]);
        r.wait_ms.push_back(p->wait_ms[cell * 2 + s]);
      }
    r.total_ms.push_back(f.total_ms[cell] + b.total_ms[cell]);
    r.wall_ms.push_back(f.wall_ms[cell] + b.wall_ms[cell]);
  }
  r.bytes_sent = {8, 0, 16, 16, 8, 0, 16, 16};
  r.step_flops = {1e9, 1e9, 2.5e9, 2.5e9, 1e9, 1e9, 2.5e9, 2.5e9};
  summarize_run(r, 1.4e10, 1024);
  r.check = CheckResult{1e-7, 2e-6, 3e-6, 1e-5, true, GradientErrors{2e-7, 3e-7, 4e-7}};
  return r;
}

const ExportValue& field(const ExportRecord& r, const std::string& name) {
  for (const auto& [k, v] : r.fields)
    if (k == name) return v;
  FAIL("no field " << name);
  static ExportValue none;
  return none;
}

}  // namespace

TEST_CASE("pass is a list option: fwd, bwd, fwdbwd", "[backward][cli]") {
  const auto o = parse_case_options(
      {"--pass", "fwd,bwd", "fwdbwd", "--layout", "striped", "--output", "none"}, 4);
  REQUIRE(o.cases.size() == 3);
  REQUIRE(o.cases[1].pass == PassKind::bwd);
  REQUIRE(o.cases[2].pass == PassKind::fwdbwd);
  REQUIRE(o.cases[2].layout == LayoutKind::striped);
  REQUIRE(o.cases[2].canonical().find("pass = fwdbwd\n") != std::string::npos);
  REQUIRE(parse_case_options({"--output", "none"}, 1).cases[0].pass ==
          PassKind::fwd);  // the default
  try {
    parse_case_options({"--pass", "sideways", "--output", "none"}, 1);
    FAIL("accepted");
  } catch (const ConfigError& e) {
    REQUIRE(e.key() == "pass");
    REQUIRE(e.value() == "sideways");
    REQUIRE(e.allowed() == "fwd, bwd, fwdbwd");
  }
}

TEST_CASE(
    "GPU cases of every pass are accepted; those cuDNN cannot cut are refused before "
    "anything runs",
    "[backward][validation]") {
  BenchmarkCase c;
  c.device = DeviceKind::cuda;
  c.spec.dtype = DType::bf16;
  for (auto pass : {PassKind::fwd, PassKind::bwd, PassKind::fwdbwd}) {
    c.pass = pass;
    c.layout = LayoutKind::striped;
    c.spec.mask = "none";
    c.kernel = KernelKind::cudnn;
    INFO(to_string(pass));
    REQUIRE_NOTHROW(validate(c, 1));  // no mask: every step is dense
    // cuDNN takes dense or causal-diagonal rectangles: striped causal steps are neither
    c.spec.mask = "causal";
    REQUIRE(refusal(c).key() == "layout");
    c.kernel = KernelKind::flash;  // the own kernels take any increasing positions
    REQUIRE_NOTHROW(validate(c, 1));
  }
}

TEST_CASE("each timed pass gets its own times and TFLOP/s in the summary", "[backward][summary]") {
  const RunRecord r = fwdbwd_run();
  REQUIRE(r.summary.at("fwd_median_ms") == Approx(2.2));  // the slowest rank's forward
  REQUIRE(r.summary.at("bwd_median_ms") == Approx(5.5));
  REQUIRE(r.summary.at("median_ms") == Approx(7.7));  // the whole iteration
  REQUIRE(r.summary.at("bwd_tflops_per_rank") == Approx(1e10 / 2 / 5.5e-3 / 1e12));
  REQUIRE(r.summary.at("tflops_per_rank") == Approx(1.4e10 / 2 / 7.7e-3 / 1e12));
  REQUIRE(r.summary.at("compute_imbalance") == Approx(1.1));
}

TEST_CASE("schema 2 stores each pass and the gradient errors, and reads back equal",
          "[backward][hdf5]") {
  const fs::path file = temp_path("passes.h5");
  fs::remove(file);
  const RunRecord run = fwdbwd_run();
  append_run(file, run);
  const RunRecord back = read_run(file, "000000");
  REQUIRE(back.steps == 4);
  REQUIRE(back.passes.size() == 2);
  REQUIRE(back.passes.at("backward").compute_ms == run.passes.at("backward").compute_ms);
  REQUIRE(back.passes.at("backward").total_ms == run.passes.at("backward").total_ms);
  REQUIRE(back.passes.at("forward").wall_ms == run.passes.at("forward").wall_ms);
  REQUIRE(back.passes.at("backward").flops == 1e10);
  REQUIRE(back.check->gradients.has_value());
  REQUIRE(back.check->gradients->dk_rel_err == 3e-7);
  REQUIRE(back.summary == run.summary);
  fs::remove(file);
}

TEST_CASE("a version-1 file reads as forward-only runs and takes new runs", "[backward][hdf5]") {
  const fs::path file = temp_path("v1.h5");
  fs::remove(file);
  RunRecord old = fwdbwd_run();
  old.config = {{"seq-len", "1024"}, {"layout", "zigzag"}};  // version 1: no pass, no pass groups
  old.passes.clear();
  old.check->gradients.reset();
  old.summary.clear();
  summarize_run(old, 4e9, 1024);
  append_run(file, old);
  {  // what version 1 wrote on the file
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    const std::int64_t one = 1;
    H5Awrite(a, H5T_NATIVE_INT64, &one);
    H5Aclose(a);
    H5Fclose(f);
  }
  const RunRecord back = read_run(file, "000000");
  REQUIRE(back.config.back() == std::pair<std::string, std::string>{"pass", "fwd"});
  REQUIRE(back.passes.empty());
  REQUIRE_FALSE(back.check->gradients.has_value());
  const ExportRecord e = export_record("000000", back);
  REQUIRE(std::get<double>(field(e, "forward_time_median")) == back.summary.at("median_ms"));
  REQUIRE(std::holds_alternative<std::monostate>(field(e, "backward_time_median")));

  append_run(file, fwdbwd_run());  // the file now holds a version-2 run: it says so
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
  std::int64_t version = 0;
  H5Aread(a, H5T_NATIVE_INT64, &version);
  H5Aclose(a);
  H5Fclose(f);
  REQUIRE(version == kSchemaVersion);
  REQUIRE(read_run(file, "000000").config.back().second == "fwd");
  fs::remove(file);
}

TEST_CASE("export fills forward, backward and total times from the passes", "[backward][export]") {
  RunRecord r = fwdbwd_run();
  ExportRecord e = export_record("000007", r);
  REQUIRE(std::get<double>(field(e, "forward_time_median")) == Approx(2.2));
  REQUIRE(std::get<double>(field(e, "backward_time_median")) == Approx(5.5));
  REQUIRE(std::get<double>(field(e, "total_time_median")) == Approx(7.7));
  REQUIRE(std::get<double>(field(e, "check_dv_rel_err")) == 4e-7);
  REQUIRE(std::get<std::string>(field(e, "pass")) == "fwdbwd");
  r.passes.erase("forward");  // a bwd run: no forward times
  r.summary.clear();
  summarize_run(r, 1e10, 1024);
  e = export_record("000008", r);
  REQUIRE(std::holds_alternative<std::monostate>(field(e, "forward_time_median")));
  REQUIRE(std::get<double>(field(e, "backward_time_median")) == Approx(5.5));
}
