// Command-line and config-file parsing: lists, suffixes, precedence, and refusals naming the key.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "apps/CaseOptions.hpp"
#include "core/Error.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {
std::string refused_key(const std::vector<std::string>& args, int world = 4) {
  try {
    parse_case_options(args, world);
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "(accepted)";
}
}  // namespace

TEST_CASE("lists expand into one case per combination", "[cli]") {
  const auto o = parse_case_options(
      {"--seq-len", "4K", "8192", "--mask", "none,causal", "--output", "none"}, 2);
  REQUIRE(o.cases.size() == 4);
  REQUIRE(o.cases[0].spec.seq_len == 4096);
  REQUIRE(o.cases[2].spec.seq_len == 8192);
  REQUIRE(o.cases[1].spec.mask == MaskKind::causal);
  REQUIRE(o.output.empty());
  REQUIRE(parse_count("seq-len", "1M") == 1048576);
}

TEST_CASE("the command line wins over the config file", "[cli]") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("ringbench-cli-" + std::to_string(::getpid()) + ".ini");
  std::ofstream(path) << "# a comment\nheads = 8\nhead-dim = 128\nmask = causal\nlayout = zigzag\n";
  const auto o =
      parse_case_options({"--config", path.string(), "--heads", "2", "--output", "none"}, 2);
  REQUIRE(o.cases.size() == 1);
  REQUIRE(o.cases[0].spec.heads == 2);
  REQUIRE(o.cases[0].spec.head_dim == 128);
  REQUIRE(o.cases[0].layout == LayoutKind::zigzag);

  std::ofstream(path) << "heads = 8\ncolour = blue\n";
  REQUIRE(refused_key({"--config", path.string()}).find("colour") != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("invalid options are refused naming the key", "[cli]") {
  REQUIRE(refused_key({"--seq-len", "4096", "--bogus", "1"}) == "bogus");
  REQUIRE(refused_key({"--seq-len", "12k3"}) == "seq-len");
  REQUIRE(refused_key({"--seq-len", "4098"}) == "seq-len");  // not divisible by 4 ranks
  REQUIRE(refused_key({"--heads", "6", "--kv-heads", "4"}) == "kv-heads");
  REQUIRE(refused_key({"--head-dim", "100"}) == "head-dim");
  REQUIRE(refused_key({"--mask", "window"}) == "mask");
  REQUIRE(refused_key({"--layout", "spiral"}) == "layout");
  REQUIRE(refused_key({"--dtype", "int8"}) == "dtype");
  REQUIRE(refused_key({"--iters", "0"}) == "iters");
  REQUIRE(refused_key({"--warmup", "-1"}) == "warmup");
  REQUIRE(refused_key({"--check=maybe"}) == "check");
  REQUIRE(refused_key({"--device", "tpu"}) == "device");
  REQUIRE(refused_key({"--output", "/no/such/dir/r.h5"}) == "output");
  REQUIRE(refused_key({"--config", "/no/such/file.ini"}) == "config");
  REQUIRE(refused_key({"--batch", "0"}) == "batch");
}

TEST_CASE("every config file shipped in configs/ parses and validates", "[cli][configs]") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(RINGBENCH_SOURCE_CONFIG_DIR)) {
    if (entry.path().extension() != ".ini") continue;
    INFO(entry.path().string());
    for (int world : {1, 2, 4, 8}) {
      const auto o = parse_case_options(
          {"--config", entry.path().string(), "--device", "cpu", "--output", "none"}, world);
      REQUIRE_FALSE(o.cases.empty());
    }
    ++files;
  }
  REQUIRE(files >= 7);  // quick + six presets
}
