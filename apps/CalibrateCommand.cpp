// `ringbench calibrate`: measures on this machine what `ringbench plan` predicts from, into a
// calibration file: the time of ring steps of the given cases at several block sizes (whole
// blocks, and the partial blocks of each mask), the time of exchanges over the ring's link from
// 64 KiB up to the largest block, and the memory a rank may use (ring/plan/Calibration.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "apps/CaseOptions.hpp"
#include "apps/CommandArgs.hpp"
#include "apps/Commands.hpp"
#include "apps/ConfigAgreement.hpp"
#include "core/Error.hpp"
#include "core/FlopCount.hpp"
#include "core/Version.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/PeerWait.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/RingBenchmark.hpp"
#include "ring/plan/LinkProbe.hpp"

namespace ringbench {

namespace {

struct CalibrateRequest {
  std::vector<BenchmarkCase> cases;  // one per (case, block size), seq-len = block x ranks
  std::string output;
  int repeats = 10;
  double min_seconds = 0.5;  // timed per case at least: the device as hot as in a long run
};

void print_help() {
  std::cout << "usage: ringbench calibrate [--block-sizes LIST] [--output FILE] [case options]\n"
               "Measures what `ringbench plan` needs on this machine: ring steps of each case at\n"
               "every block size (tokens per rank; default 256 512 1K 2K on CPU ranks, 4K 16K\n"
               "64K 256K on GPUs), whole blocks (mask none, always added) and each mask's\n"
               "partial blocks; exchanges over the ring's link (64 KiB up to the largest block);\n"
               "free memory. Run it with the ranks per host the runs will use. The largest\n"
               "blocks run first, so the device is as warm as in a long run.\n"
               "  --block-sizes LIST   tokens per rank\n"
               "  --output FILE        calibration file [calibration.h5]\n"
               "  --repeats N          timed exchanges per link size [10]\n"
               "  --min-seconds S      time each case for at least S seconds (more iterations),\n"
               "                       so short blocks run as hot as in a long run [0.5]\n\n"
            << case_options_description() << "\n";
}

// Every case at every block size on the whole world, and its mask-none twin (whole blocks).
CalibrateRequest parse_request(Args args, const MpiRuntime& rt) {
  CalibrateRequest req;
  req.output = take_single(args, "output", "calibration.h5");
  req.repeats = static_cast<int>(
      parse_integer("repeats", take_single(args, "repeats", "10"), "an integer 1..1000"));
  if (req.repeats < 1 || req.repeats > 1000)
    throw ConfigError("repeats", std::to_string(req.repeats), "an integer 1..1000");
  const std::string min_seconds = take_single(args, "min-seconds", "0.5");
  req.min_seconds = parse_number("min-seconds", min_seconds, "seconds 0..600");
  if (!(req.min_seconds >= 0 && req.min_seconds <= 600))
    throw ConfigError("min-seconds", min_seconds, "seconds 0..600");
  const auto sizes = take_option(args, "block-sizes");
  const std::filesystem::path folder = std::filesystem::path(req.output).parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder))
    throw ConfigError("output", req.output, "a file in an existing folder");
  args.insert(args.end(), {"--output", "none"});
  const CaseOptions options = parse_case_options(args, rt.size());
  std::set<std::string> seen;
  for (BenchmarkCase base : options.cases) {
    if (base.virtual_ranks > 1 || base.ring_size_option > 0)
      throw ConfigError(base.virtual_ranks > 1 ? "virtual-ranks" : "ring-size", "set",
                        "unset: calibrate measures the ranks it runs on");
    const std::vector<std::string> defaults =
        base.device == DeviceKind::cpu ? std::vector<std::string>{"256", "512", "1K", "2K"}
                                       : std::vector<std::string>{"4K", "16K", "64K", "256K"};
    std::vector<std::int64_t> blocks;
    for (const std::string& text : sizes ? *sizes : defaults)
      blocks.push_back(parse_count("block-sizes", text));
    // the largest first: the device runs hot from the start, as it does through a long run
    std::sort(blocks.rbegin(), blocks.rend());
    for (const std::int64_t block : blocks) {
      for (const std::string& mask : {std::string("none"), base.spec.mask}) {
        BenchmarkCase c = base;
        c.spec.mask = mask;
        c.spec.seq_len = block * rt.size();
        c.check = false;
        c.check_rows = 0;
        validate(c, rt.size());
        if (seen.insert(c.canonical()).second) req.cases.push_back(c);
      }
    }
  }
  return req;
}

// Link sizes: 64 KiB, x4, ... up to the largest block's K/V.
std::vector<std::size_t> link_sizes(std::size_t largest) {
  std::vector<std::size_t> sizes;
  for (std::size_t b = std::size_t{64} << 10; b < largest; b *= 4) sizes.push_back(b);
  sizes.push_back(largest);
  return sizes;
}

// The case whose block carries the largest exchange: the largest block, mask none, on the
// world's ranks (two virtual ranks when alone, so that a copy stands in for the link).
BenchmarkCase link_case(const std::vector<BenchmarkCase>& cases, int world) {
  BenchmarkCase c = cases.front();
  for (const auto& x : cases)
    if (x.spec.seq_len > c.spec.seq_len) c = x;
  c.spec.mask = "none";
  c.pass = PassKind::fwd;
  if (world == 1) {
    c.virtual_ranks = 2;
    c.spec.seq_len *= 2;
  }
  validate(c, world);
  return c;
}

void print_step(const BenchmarkCase& c, const std::vector<ComputeSample>& samples) {
  double flops = 0, ms = 0;
  for (const auto& s : samples) flops += s.flops, ms += s.ms;
  std::printf("  %-8s %-28s block %9lld  %4zu steps  %10.3f ms  %8.2f TFLOP/s\n",
              std::string(to_string(c.pass)).c_str(), c.spec.mask.c_str(),
              static_cast<long long>(c.spec.seq_len), samples.size(), ms,
              ms > 0 ? flops / (ms * 1e-3) / 1e12 : 0.0);
}

// `c` with enough iterations to be timed for `seconds`, from one probing iteration (which warms
// the device too); every rank takes the root's measurement.
BenchmarkCase lasting(BenchmarkCase c, double seconds, const MpiRuntime& rt) {
  if (seconds <= 0) return c;
  BenchmarkCase probe = c;
  probe.warmup = 0;
  probe.iters = 1;
  const BenchmarkOutcome out = run_ring_benchmark(probe, rt);
  const double ms = max_all(rt.world(), rt.is_root() ? out.record.summary.at("median_ms") : 0.0);
  if (ms > 0) c.iters = std::clamp(static_cast<int>(std::ceil(seconds * 1e3 / ms)), c.iters, 1000);
  return c;
}

}  // namespace

int calibrate_command(const Args& args, const MpiRuntime& rt) {
  if (wants_help(args)) {
    if (rt.is_root()) print_help();
    return 0;
  }
  const CalibrateRequest req = parse_on_every_rank(rt, [&] { return parse_request(args, rt); });
  set_peer_timeout(req.cases.front().timeout_s);
  const DeviceKind device = req.cases.front().device;
  Calibration cal;
  cal.ranks = rt.size();
  cal.ranks_per_host = rt.local_size();
  cal.tool_version = kToolVersion;
  // ranks sharing one device compute at once: the CPU ranks of a host; a GPU has one rank
  const int concurrency = device == DeviceKind::cpu ? rt.local_size() : 1;
  if (rt.is_root())
    std::printf("# calibrating %zu cases on %d rank(s), %d per host\n", req.cases.size(), rt.size(),
                rt.local_size());
  for (const BenchmarkCase& asked : req.cases) {
    const BenchmarkCase c = lasting(asked, req.min_seconds, rt);
    const BenchmarkOutcome outcome = run_ring_benchmark(c, rt);
    if (!rt.is_root()) continue;
    const auto samples = compute_samples(outcome.record, c, concurrency);
    cal.compute.insert(cal.compute.end(), samples.begin(), samples.end());
    const auto name = outcome.record.ranks.front().device;
    cal.device_name = name;
    print_step(c, samples);
  }
  const BenchmarkCase link = link_case(req.cases, rt.size());
  const SequenceLayout layout(link.layout, link.spec.seq_len, link.ring_size(rt.size()));
  const auto links =
      probe_links(link, rt, link_sizes(travelling_block(link, layout.local_len()).kv), req.repeats);
  const DeviceMemory memory = device_memory(device, rt);
  if (!rt.is_root()) return 0;
  cal.links = links;
  cal.memory_free = memory.free;
  cal.memory_total = memory.total;
  for (const auto& s : links)
    std::printf("  link %-12s %12.0f bytes  %9.4f ms  %8.2f GB/s\n", s.link.c_str(), s.bytes, s.ms,
                s.ms > 0 ? s.bytes / (s.ms * 1e-3) / 1e9 : 0.0);
  std::printf("  memory: %.2f GiB free of %.2f GiB per rank\n", memory.free / (1 << 30),
              memory.total / (1 << 30));
  write_calibration(req.output, cal);
  std::printf("# calibration written to %s\n", req.output.c_str());
  return 0;
}

}  // namespace ringbench
