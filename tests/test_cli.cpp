// Command-line and config-file parsing: lists, suffixes, precedence, and refusals naming the key.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

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
      {"--seq-len", "4K", "8192", "--mask", "none", "causal", "--output", "none"}, 2);
  REQUIRE(o.cases.size() == 4);
  REQUIRE(o.cases[0].spec.seq_len == 4096);
  REQUIRE(o.cases[2].spec.seq_len == 8192);
  REQUIRE(o.cases[1].spec.mask == "causal");
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

// Bad input (issue 12): what the refusals name, for files and values that used to run anyway.
namespace {
std::optional<ConfigError> refusal(const std::vector<std::string>& args, int world = 4) {
  try {
    parse_case_options(args, world);
  } catch (const ConfigError& e) {
    return e;
  }
  return std::nullopt;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A config file in the temporary folder, removed at the end of the test.
struct TempConfig {
  explicit TempConfig(const std::string& text, const std::string& name = "config.ini")
      : path(std::filesystem::temp_directory_path() /
             ("ringbench-input-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempConfig() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
  std::filesystem::path path;
};
}  // namespace

TEST_CASE("only regular config files of at most 1 MiB are read", "[cli][input]") {
  const TempConfig folder("", "folder.ini");
  std::filesystem::remove(folder.path);
  std::filesystem::create_directory(folder.path);
  auto e = refusal({"--config", folder.str(), "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "config");
  CHECK(e->value() == folder.str());
  CHECK(contains(e->allowed(), "this is a directory"));

  std::string comments;
  while (comments.size() <= (std::size_t{1} << 20)) comments += "# a comment line\n";
  const TempConfig big(comments, "big.ini");
  e = refusal({"--config", big.str(), "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "config");
  CHECK(contains(e->allowed(), "at most 1 MiB"));
}

TEST_CASE("a config file cannot name another config file", "[cli][input]") {
  const TempConfig file("heads = 2\nconfig = other.ini\n");
  const auto e = refusal({"--config", file.str(), "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "config");
  CHECK(e->value() == "other.ini");
  CHECK(contains(e->allowed(), "cannot be nested"));
  CHECK(contains(e->allowed(), file.str() + ":2"));
}

TEST_CASE("a key given twice is refused with both values, not made a list", "[cli][input]") {
  auto e = refusal({"--heads", "4", "--heads", "8", "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "heads");
  CHECK(e->value() == "--heads 4 --heads 8");
  CHECK(contains(e->allowed(), "lists are written as one value: --heads 4 8"));

  e = refusal({"--kv-heads", "1", "--kv-heads=2", "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "kv-heads");
  CHECK(e->value() == "--kv-heads 1 --kv-heads 2");

  const TempConfig file("heads = 4\nmask = causal\nheads = 8\n");
  e = refusal({"--config", file.str(), "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "heads");
  CHECK(e->value() == "4 (" + file.str() + ":1) and 8 (" + file.str() + ":3)");
  CHECK(contains(e->allowed(), "heads = 4 8"));

  e = refusal({"--check", "--check=false", "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "check");
  CHECK(parse_case_options({"--check", "--check", "--output", "none"}, 1).cases[0].check);

  // the command line wins over the file: a key in both is no repetition
  const TempConfig lists("heads = 8\nseq-len = 1K 2K\n", "lists.ini");
  const auto o =
      parse_case_options({"--config", lists.str(), "--heads", "2", "--output", "none"}, 2);
  REQUIRE(o.cases.size() == 2);
  CHECK(o.cases[0].spec.heads == 2);
}

TEST_CASE("a line that is not key = value is named by file and line, escaped", "[cli][input]") {
  const TempConfig binary(
      "heads = 2\n\x7f"
      "ELF\x01\x02" +
      std::string(300, '\xff') + "\n");
  auto e = refusal({"--config", binary.str(), "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "config");
  CHECK(e->value() == binary.str() + ":2");
  CHECK(contains(e->allowed(), "key = value lines"));
  CHECK(contains(e->allowed(), "\\x7fELF\\x01\\x02\\xff"));
  CHECK(e->allowed().size() < 160);  // cut short
  const std::string what = e->what();
  CHECK(std::none_of(what.begin(), what.end(),
                     [](unsigned char ch) { return ch < 0x20 || ch >= 0x7f; }));

  const TempConfig words("heads = 2\njust words\n", "words.ini");
  e = refusal({"--config", words.str(), "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "config");
  CHECK(e->value() == words.str() + ":2");
}

TEST_CASE("values that would do nothing or wrap around are refused", "[cli][input]") {
  auto e = refusal({"--output", ""});
  REQUIRE(e);
  CHECK(e->key() == "output");
  CHECK(contains(e->allowed(), "none"));
  e = refusal({"--trace", "", "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "trace");

  e = refusal({"--seed", "-1", "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "seed");
  CHECK(e->value() == "-1");
  const auto o = parse_case_options({"--seed", "9223372036854775807", "--output", "none"}, 1);
  CHECK(o.cases[0].seed == 9223372036854775807ull);

  e = refusal({"--dump-tensors", "--output", "none"});
  REQUIRE(e);
  CHECK(e->key() == "dump-tensors");
  CHECK(contains(e->allowed(), "results file"));
}

TEST_CASE("the allowed text of timeout says 0 is not allowed", "[cli][input]") {
  for (const char* bad : {"abc", "0", "-1"}) {
    const auto e = refusal({"--timeout", bad, "--output", "none"});
    REQUIRE(e);
    CHECK(e->key() == "timeout");
    CHECK(e->allowed() == "seconds > 0");
  }
}

TEST_CASE("the patterns preset holds every pattern, each valid at its length", "[cli][pattern]") {
  const auto o = parse_case_options({"--preset", "patterns", "--output", "none"}, 1);
  std::vector<std::string> masks;
  for (const auto& c : o.cases) masks.push_back(c.spec.mask);
  REQUIRE(masks ==
          std::vector<std::string>{
              "none", "causal", "window:4095:0", "longformer:256:256:64", "bigbird:128:33:1:3:0",
              "dilated:2048,4096,8192,16384,32768,65536:1,2,4,8,16,32", "blocksparse:128:0.1:0"});
}
