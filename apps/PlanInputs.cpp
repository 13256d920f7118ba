#include "apps/PlanInputs.hpp"

#include <set>

#include "apps/CaseOptions.hpp"
#include "apps/CommandArgs.hpp"
#include "core/Error.hpp"

namespace ringbench {

namespace {

// NCCL send/recv ring between 4 H200s of one host (../shared/ANCHORS.md, 2026-11-21): GB/s per
// rank, one direction, at 1 MiB, 16 MiB, 64 MiB, 256 MiB and 1 GiB.
std::vector<LinkSample> anchors_nvlink() {
  const double mib = 1 << 20;
  std::vector<LinkSample> s;
  for (const auto& [bytes, gbps] : std::vector<std::pair<double, double>>{
           {mib, 8}, {16 * mib, 87}, {64 * mib, 125}, {256 * mib, 271}, {1024 * mib, 347}})
    s.push_back({"nccl", bytes, bytes / (gbps * 1e9) * 1e3});
  return s;
}

double positive(const std::string& key, const std::string& text) {
  const double v = parse_number(key, text, "a positive number");
  if (!(v > 0)) throw ConfigError(key, text, "a positive number");
  return v;
}

// --NAME-gbps and --NAME-latency-us, both or neither.
std::optional<LinkModel> given_link(Args& args, const std::string& name, const std::string& kind) {
  const std::string gbps = take_single(args, name + "-gbps", "");
  const std::string latency = take_single(args, name + "-latency-us", "");
  if (gbps.empty() && latency.empty()) return std::nullopt;
  if (gbps.empty())
    throw ConfigError(name + "-gbps", "(missing)", "a bandwidth beside the latency");
  return LinkModel::rated(kind, positive(name + "-gbps", gbps),
                          latency.empty() ? 0.0 : positive(name + "-latency-us", latency), "given");
}

bool has_link(const Calibration& cal, const std::string& kind) {
  for (const auto& s : cal.links)
    if (s.link == kind) return true;
  return false;
}

}  // namespace

ClusterLinks cluster_links(Args& args, DeviceKind device, const Calibration& cal,
                           const std::string& intra_kind) {
  const std::string between = device == DeviceKind::cpu ? "mpi" : "nccl";
  std::optional<LinkModel> intra = given_link(args, "intra", intra_kind);
  std::optional<LinkModel> inter = given_link(args, "inter", between);
  if (!intra) {
    if (has_link(cal, intra_kind))
      intra = LinkModel::measured(intra_kind, cal.links);
    else if (intra_kind == "nccl")
      intra = LinkModel::measured("nccl", anchors_nvlink(),
                                  "nccl (NVLink, H200 send/recv of ANCHORS.md; not measured here)");
    else
      intra = LinkModel::rated(intra_kind, 50, 10, "assumed");
  }
  if (!inter) inter = LinkModel::rated(between, 50, 10, "assumed");
  return {*intra, *inter};
}

std::optional<MeasuredRing> measured_ring(const RunRecord& run, std::string& why) {
  if (run.status != "ok") {
    why = "the run failed";
    return std::nullopt;
  }
  Args args = {"--output", "none"};  // the run's configuration, as a command line would give it
  for (const auto& [key, value] : run.config) args.insert(args.end(), {"--" + key, value});
  const auto summary = [&](const char* key, double fallback) {
    const auto it = run.summary.find(key);
    return it == run.summary.end() ? fallback : it->second;
  };
  MeasuredRing m;
  m.real_ranks = static_cast<int>(summary("real_ranks", 0));
  std::set<std::string> hosts;
  for (const auto& r : run.ranks) hosts.insert(r.host);
  const bool device_cuda = !run.ranks.empty() && run.ranks.front().device != "cpu";
  try {
    // the world it ran on: a virtual ring ran in one process
    m.c = parse_case_options(args, ParseTarget{1, device_cuda}).cases.front();
    if (m.real_ranks == 0) m.real_ranks = m.c.virtual_ranks > 1 ? 1 : run.world_size;
    if (m.real_ranks != 1)
      m.c = parse_case_options(args, ParseTarget{m.real_ranks, device_cuda}).cases.front();
  } catch (const ConfigError& e) {
    why = std::string("its configuration does not parse (") + e.what() + ")";
    return std::nullopt;
  }
  const int hosts_used = std::max<int>(1, static_cast<int>(hosts.size()));
  PlanCluster& cl = m.cluster;
  cl.ranks = m.c.ring_size(m.real_ranks);
  cl.emulated = m.c.emulated(m.real_ranks);
  cl.one_process = m.c.virtual_ranks > 1 || cl.emulated;
  cl.ranks_per_host = cl.one_process ? cl.ranks : std::max(1, m.real_ranks / hosts_used);
  cl.concurrency = m.c.device == DeviceKind::cpu && !cl.one_process ? cl.ranks_per_host : 1;
  m.link = link_of(m.c, m.real_ranks);
  m.measured_ms = summary("median_ms", 0);
  m.measured_memory = summary("peak_mem_bytes", 0);
  const auto kernel = run.provenance.find("kernel_selected");
  m.kernel = kernel != run.provenance.end() ? kernel->second : std::string(to_string(m.c.kernel));
  return m;
}

}  // namespace ringbench
