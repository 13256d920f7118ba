// Sweep planning: scaling series over ring sizes, the automatic batch, presets and lists in job
// text, and what a job may not say.
#include "apps/CaseOptions.hpp"
#include "apps/CasePlan.hpp"
#include "core/Error.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {
std::string refused_key(const std::string& job, int world = 4) {
  try {
    parse_job_options(job, ParseTarget{world, false});
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "(accepted)";
}
}  // namespace

TEST_CASE("ring sizes are sorted, distinct and within the job", "[sweep]") {
  const ScalingRequest r = parse_scaling({"4", "1", "2", "2"}, "both", 4);
  REQUIRE(r.ranks == std::vector<int>{1, 2, 4});
  REQUIRE(r.series());
  REQUIRE(parse_scaling({"all"}, "strong", 8).ranks == std::vector<int>{8});
  REQUIRE_FALSE(parse_scaling({"1", "2"}, "strong", 2).weak);
  REQUIRE_THROWS_AS(parse_scaling({"8"}, "both", 4), ConfigError);
  REQUIRE_THROWS_AS(parse_scaling({"0"}, "both", 4), ConfigError);
  REQUIRE_THROWS_AS(parse_scaling({"two"}, "both", 4), ConfigError);
  REQUIRE_THROWS_AS(parse_scaling({"2"}, "sideways", 4), ConfigError);
}

TEST_CASE("batch auto keeps the tokens per step about constant", "[sweep]") {
  const BatchRule rule = parse_batch_rule("auto", "0", {1024, 4096, 16384});
  REQUIRE(rule.batch_for(16384) == 1);
  REQUIRE(rule.batch_for(4096) == 4);
  REQUIRE(rule.batch_for(1024) == 16);
  const BatchRule fixed_tokens = parse_batch_rule("auto", "3000", {1024, 4096});
  REQUIRE(fixed_tokens.batch_for(1024) == 2);
  REQUIRE(fixed_tokens.batch_for(4096) == 1);  // never below 1
  REQUIRE(parse_batch_rule("3", "0", {1024}).batch_for(1024) == 3);
  REQUIRE_THROWS_AS(parse_batch_rule("3", "4096", {1024}), ConfigError);  // tokens only with auto
  REQUIRE_THROWS_AS(parse_batch_rule("0", "0", {1024}), ConfigError);
}

TEST_CASE("a scaling series runs the baseline first, then strong and weak cases", "[sweep]") {
  const CaseOptions o =
      parse_job_options("device = cpu\nseq-len = 1024\nranks = 1 2 4\n", ParseTarget{4, false});
  REQUIRE(o.cases.size() == 5);
  REQUIRE(o.placements.size() == 5);
  REQUIRE(o.placements[0].role == ScalingRole::base);
  REQUIRE(o.placements[0].ranks == 1);
  for (std::size_t i = 0; i < o.cases.size(); ++i) REQUIRE(o.placements[i].base == 0);
  REQUIRE(o.placements[1].role == ScalingRole::strong);
  REQUIRE(o.placements[1].ranks == 2);
  REQUIRE(o.cases[1].spec.seq_len == 1024);
  REQUIRE(o.placements[2].role == ScalingRole::weak);
  REQUIRE(o.cases[2].spec.seq_len == 2048);  // the baseline's 1024 tokens per rank on 2 ranks
  REQUIRE(o.placements[4].ranks == 4);
  REQUIRE(o.cases[4].spec.seq_len == 4096);
}

TEST_CASE("without a series every case runs on the whole job", "[sweep]") {
  const CaseOptions o = parse_job_options("device = cpu\nseq-len = 512 1K\nmask = none causal\n",
                                          ParseTarget{2, false});
  REQUIRE(o.cases.size() == 4);
  for (const auto& p : o.placements) {
    REQUIRE(p.ranks == 2);
    REQUIRE(p.role == ScalingRole::none);
  }
  const CaseOptions two = parse_job_options("device = cpu\nranks = 2\n", ParseTarget{4, false});
  REQUIRE(two.placements.at(0).ranks == 2);
}

TEST_CASE("every case of a series is validated for its ring size", "[sweep]") {
  // 1036 tokens divide into 2 ranks' zigzag chunks (4), not into 4 ranks' (8).
  REQUIRE(refused_key("device = cpu\nseq-len = 1036\nlayout = zigzag\nranks = 1 2\n") ==
          "(accepted)");
  REQUIRE(refused_key("device = cpu\nseq-len = 1036\nlayout = zigzag\nranks = 1 2 4\n") ==
          "seq-len");
}

TEST_CASE("a preset is a named config file below the job's own keys", "[sweep]") {
  const CaseOptions o =
      parse_job_options("device = cpu\npreset = document\nheads = 2\nhead-dim = 32\nbatch = auto\n",
                        ParseTarget{2, false});
  REQUIRE(o.cases.size() == 4 * 2 * 2);  // 512..4K, none/causal, contiguous/zigzag
  REQUIRE(o.cases.front().spec.heads == 2);
  REQUIRE(o.cases.front().spec.seq_len == 512);
  REQUIRE(o.cases.front().spec.batch == 8);  // 4096 / 512
  REQUIRE(o.cases.back().spec.batch == 1);
  REQUIRE(refused_key("preset = ../../etc/passwd\n") == "preset");
  REQUIRE(refused_key("preset = huge\n") == "preset");
}

TEST_CASE("a job cannot name files or dump tensors", "[sweep][security]") {
  REQUIRE(refused_key("config = /etc/passwd\n") == "config");
  REQUIRE(refused_key("output = /tmp/x.h5\n") == "output");
  REQUIRE(refused_key("dump-tensors = true\n") == "dump-tensors");
  REQUIRE(refused_key("frobnicate = 1\n") == "frobnicate");
}

TEST_CASE("a job's lists cannot expand into more cases than allowed", "[sweep][security]") {
  std::string many = "device = cpu\nseq-len =";
  for (int i = 1; i <= 40; ++i) many += " " + std::to_string(64 * i);
  many += "\nheads =";
  for (int i = 1; i <= 40; ++i) many += " " + std::to_string(i);
  many += "\n";
  REQUIRE_THROWS_AS(parse_job_options(many, ParseTarget{1, false, 1000}), ConfigError);
  REQUIRE(parse_job_options(many, ParseTarget{1, false, 2000}).cases.size() == 1600);
}

TEST_CASE("kernels are a list like the other keys", "[sweep]") {
  const CaseOptions o =
      parse_job_options("device = cpu\nkernel = cpu auto\n", ParseTarget{1, false});
  REQUIRE(o.cases.size() == 2);
  REQUIRE(o.cases[0].kernel == KernelKind::cpu);
  REQUIRE(o.cases[1].kernel == KernelKind::cpu);  // auto on the CPU
  REQUIRE(refused_key("device = cpu\nkernel = cpu flash\n", 1) == "kernel");
}
