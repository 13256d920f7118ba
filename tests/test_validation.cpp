// Invalid problem specs and benchmark cases are refused with a message naming key and value.
#include "core/BenchmarkCase.hpp"
#include "core/Error.hpp"
#include "core/PatternSpec.hpp"
#include "core/Statistics.hpp"
#include "distributed/MemoryFit.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {
void require_refused(const ProblemSpec& spec, const std::string& key, const std::string& value) {
  try {
    validate(spec);
    FAIL("accepted an invalid " << key);
  } catch (const ConfigError& e) {
    REQUIRE(e.key() == key);
    REQUIRE(e.value() == value);
    REQUIRE(std::string(e.what()).find(key) != std::string::npos);
    REQUIRE(!e.allowed().empty());
  }
}
}  // namespace

TEST_CASE("every invalid spec field is refused naming it", "[validation]") {
  ProblemSpec ok;
  REQUIRE_NOTHROW(validate(ok));
  auto s = ok;
  s.batch = 0;
  require_refused(s, "batch", "0");
  s = ok;
  s.heads = -2;
  require_refused(s, "heads", "-2");
  s = ok;
  s.seq_len = 0;
  require_refused(s, "seq-len", "0");
  s = ok;
  s.heads = 6;
  s.kv_heads = 4;  // 6 query heads cannot share 4 kv heads evenly
  require_refused(s, "kv-heads", "4");
  s = ok;
  s.head_dim = 80;
  require_refused(s, "head-dim", "80");
  s = ok;
  s.softmax_scale = -1.0;
  require_refused(s, "softmax-scale", std::to_string(-1.0));
  REQUIRE_THROWS_AS(make_pattern("sliding", 64), ConfigError);
  REQUIRE_THROWS_AS(parse_dtype("fp8"), ConfigError);
}

TEST_CASE("a case is checked against the world it runs on", "[validation]") {
  BenchmarkCase c;
  c.spec.seq_len = 4100;
  REQUIRE_NOTHROW(validate(c, 4));
  c.layout = LayoutKind::zigzag;
  REQUIRE_THROWS_AS(validate(c, 4), ConfigError);  // zigzag on 4 ranks needs a multiple of 8
  c.layout = LayoutKind::contiguous;
  c.iters = 0;
  REQUIRE_THROWS_AS(validate(c, 1), ConfigError);
}

TEST_CASE("the memory refusal names the whole shape of the case", "[validation][input]") {
  ProblemSpec spec;
  spec.seq_len = 65536;
  spec.batch = 2;
  spec.heads = 32;
  spec.head_dim = 128;
  // any of these may be what made the case too big: none is blamed alone
  CHECK(shape_text(spec) == "seq-len=65536 batch=2 heads=32 head-dim=128");
  spec.kv_heads = 8;
  CHECK(shape_text(spec) == "seq-len=65536 batch=2 heads=32 kv-heads=8 head-dim=128");
}

TEST_CASE("timing statistics", "[statistics]") {
  const std::vector<double> v{4, 1, 3, 2, 5};
  const Summary s = summarize(v);
  REQUIRE(s.min == 1);
  REQUIRE(s.max == 5);
  REQUIRE(s.mean == 3);
  REQUIRE(s.median == 3);
  REQUIRE(s.std == Approx(std::sqrt(2.5)));
  REQUIRE(s.p95 == Approx(4.8));
  REQUIRE(summarize(std::vector<double>{}).count == 0);
}

TEST_CASE("the GPU takes every pattern both ways; dilated from whole runs; sparse not on cuDNN",
          "[validation][pattern]") {
  BenchmarkCase c;
  c.device = DeviceKind::cuda;
  c.kernel = KernelKind::flash;
  c.spec.dtype = DType::bf16;
  c.spec.head_dim = 128;
  c.spec.seq_len = 4096;
  const auto refused_key = [&] {
    try {
      validate(c, 1);
    } catch (const ConfigError& e) {
      return e.key();
    }
    return std::string();
  };
  for (const char* accepted :
       {"none", "causal", "window:4095:0", "window:64:64+causal", "blocksparse:64:0.1",
        "bigbird:64:3:1:2+causal", "longformer:64:64:16"}) {
    c.spec.mask = accepted;
    REQUIRE(refused_key().empty());
  }
  // dilated: gathered rows, from whole runs only
  c.spec.mask = "dilated:1024,4096:2,4";
  REQUIRE(refused_key().empty());
  c.layout = LayoutKind::striped;
  REQUIRE(refused_key() == "layout");
  c.layout = LayoutKind::contiguous;
  c.spec.seq_len = 4096 + 1024 * 4;  // 8192: fine
  REQUIRE(refused_key().empty());
  c.spec.mask = "dilated:12:4";
  c.spec.seq_len = 24;
  REQUIRE(refused_key().empty());
  c.virtual_ranks = 4;  // shards of 6 tokens: not whole in the rate 4
  REQUIRE(refused_key() == "seq-len");
  c.virtual_ranks = 0;
  c.spec.seq_len = 4096;
  for (const char* sparse : {"window:64:0", "blocksparse:64:0.1", "dilated:1024:2"}) {
    c.spec.mask = sparse;
    c.pass = PassKind::fwdbwd;  // the own backward takes every pattern
    REQUIRE(refused_key().empty());
    c.pass = PassKind::fwd;
    c.kernel = KernelKind::cudnn;
    REQUIRE((refused_key() == "kernel"));
    c.kernel = KernelKind::flash;
  }
}

TEST_CASE("emulated rings: every bad ring-size, members, sample-steps or combination is refused",
          "[validation][emulated]") {
  BenchmarkCase c;
  c.spec.seq_len = 4096;
  const auto refused = [&](int world) -> std::pair<std::string, std::string> {
    try {
      validate(c, world);
    } catch (const ConfigError& e) {
      return {e.key(), e.value()};
    }
    return {};
  };
  c.ring_size_option = 8;
  REQUIRE(refused(2).first.empty());
  REQUIRE(c.emulated(2));
  REQUIRE_FALSE(c.emulated(8));  // as many members as ranks: resident
  REQUIRE(refused(16) == std::pair<std::string, std::string>{"ring-size", "8"});
  c.virtual_ranks = 4;
  REQUIRE(refused(1).first == "ring-size");  // virtual ranks make a resident ring of 4
  c.virtual_ranks = 0;
  c.ring_size_option = 3;
  REQUIRE(refused(1).first == "seq-len");  // 4096 does not shard over 3 members
  c.ring_size_option = 8;
  for (const char* bad : {"8", "-1", "1,,2", "1,", "x", "2.5", ""}) {
    c.members = bad;
    INFO(bad);
    REQUIRE(refused(1) == std::pair<std::string, std::string>{"members", bad});
  }
  c.members = "7,0,3,3";
  REQUIRE(refused(1).first.empty());
  REQUIRE(to_string(parse_members(c.members, 8)) == "0,3,7");
  c.members = "all";
  c.sample_steps = 9;
  REQUIRE(refused(1).first == "sample-steps");
  c.sample_steps = 4;
  REQUIRE(refused(1).first.empty());
  c.check = true;  // sampled steps leave the outputs partial
  REQUIRE(refused(1).first == "check");
  c.check = false;
  c.pass = PassKind::fwdbwd;
  REQUIRE(refused(1).first == "pass");
  c.pass = PassKind::fwd;
  c.dump_tensors = true;
  REQUIRE(refused(1).first == "dump-tensors");
  c.dump_tensors = false;
  // the same keys are refused without an emulated ring
  c.ring_size_option = 0;
  REQUIRE(refused(1).first == "members");
  c.members = "auto";
  REQUIRE(refused(1).first == "sample-steps");
  c.sample_steps = 0;
  REQUIRE(refused(1).first.empty());
}
