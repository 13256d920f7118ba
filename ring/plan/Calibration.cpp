#include "ring/plan/Calibration.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/Error.hpp"
#include "core/Hdf5Io.hpp"
#include "core/PatternSpec.hpp"
#include "core/Statistics.hpp"
#include "ring/RingSchedule.hpp"
#include "ring/StepWork.hpp"

namespace ringbench {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "ringbench calibration 1";

using CurveKey = std::tuple<std::string, std::string, std::string, std::string, int, int,
                            std::string>;  // device, kernel, pass, dtype, head dim, conc., step
CurveKey key_of(const ComputeSample& s) {
  return {s.device, s.kernel, s.pass, s.dtype, s.head_dim, s.concurrency, s.step};
}

void write_compute(hid_t file, const std::vector<ComputeSample>& samples) {
  std::map<CurveKey, std::vector<const ComputeSample*>> curves;
  for (const auto& s : samples) curves[key_of(s)].push_back(&s);
  H5Id group = create_group(file, "compute");
  int index = 0;
  for (const auto& [key, points] : curves) {
    H5Id curve = create_group(group, std::to_string(index++));
    const ComputeSample& first = *points.front();
    write_attr(curve, "device", first.device);
    write_attr(curve, "kernel", first.kernel);
    write_attr(curve, "pass", first.pass);
    write_attr(curve, "dtype", first.dtype);
    write_attr(curve, "head_dim", first.head_dim);
    write_attr(curve, "concurrency", first.concurrency);
    write_attr(curve, "step", first.step);
    std::vector<double> flops, ms;
    for (const ComputeSample* p : points) flops.push_back(p->flops), ms.push_back(p->ms);
    write_dataset(curve, "flops", {flops.size()}, flops);
    write_dataset(curve, "ms", {ms.size()}, ms);
  }
}

void write_links(hid_t file, const std::vector<LinkSample>& samples) {
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> links;
  for (const auto& s : samples) {
    links[s.link].first.push_back(s.bytes);
    links[s.link].second.push_back(s.ms);
  }
  H5Id group = create_group(file, "links");
  for (const auto& [name, values] : links) {
    H5Id link = create_group(group, name);
    write_dataset(link, "bytes", {values.first.size()}, values.first);
    write_dataset(link, "ms", {values.second.size()}, values.second);
  }
}

// Names of the members of an HDF5 group, in creation-independent (name) order.
std::vector<std::string> members_of(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names);
  return names;
}

Calibration read_file(const fs::path& path) {
  H5Id file = h5_file(RINGBENCH_CHECK_HDF5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)));
  if (read_string_attr(file, "format") != kFormat)
    throw std::runtime_error("not a ringbench calibration file");
  Calibration cal;
  cal.device_name = read_string_attr(file, "device_name");
  cal.tool_version = read_string_attr(file, "tool_version");
  cal.ranks = read_attr<int>(file, "ranks");
  cal.ranks_per_host = read_attr<int>(file, "ranks_per_host");
  cal.memory_free = read_attr<double>(file, "memory_free");
  cal.memory_total = read_attr<double>(file, "memory_total");
  H5Id compute = open_group(file, "compute");
  for (const std::string& name : members_of(compute)) {
    H5Id curve = open_group(compute, name);
    ComputeSample s{read_string_attr(curve, "device"), read_string_attr(curve, "kernel"),
                    read_string_attr(curve, "pass"),   read_string_attr(curve, "dtype"),
                    read_attr<int>(curve, "head_dim"), read_attr<int>(curve, "concurrency"),
                    read_string_attr(curve, "step")};
    const auto flops = read_dataset<double>(curve, "flops"), ms = read_dataset<double>(curve, "ms");
    for (std::size_t i = 0; i < std::min(flops.size(), ms.size()); ++i) {
      s.flops = flops[i], s.ms = ms[i];
      cal.compute.push_back(s);
    }
  }
  H5Id links = open_group(file, "links");
  for (const std::string& name : members_of(links)) {
    H5Id link = open_group(links, name);
    const auto bytes = read_dataset<double>(link, "bytes"), ms = read_dataset<double>(link, "ms");
    for (std::size_t i = 0; i < std::min(bytes.size(), ms.size()); ++i)
      cal.links.push_back({name, bytes[i], ms[i]});
  }
  return cal;
}

}  // namespace

void write_calibration(const fs::path& path, const Calibration& cal) {
  silence_hdf5();
  const fs::path tmp = fs::path(path).concat(".tmp");
  {
    H5Id file = h5_file(
        RINGBENCH_CHECK_HDF5(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)));
    write_attr(file, "format", std::string(kFormat));
    write_attr(file, "device_name", cal.device_name);
    write_attr(file, "tool_version", cal.tool_version);
    write_attr(file, "ranks", cal.ranks);
    write_attr(file, "ranks_per_host", cal.ranks_per_host);
    write_attr(file, "memory_free", cal.memory_free);
    write_attr(file, "memory_total", cal.memory_total);
    write_compute(file, cal.compute);
    write_links(file, cal.links);
  }
  fs::rename(tmp, path);
}

Calibration read_calibration(const fs::path& path, const std::string& key) {
  silence_hdf5();
  if (!fs::is_regular_file(path))
    throw ConfigError(key, path.string(), "an existing calibration file (ringbench calibrate)");
  try {
    return read_file(path);
  } catch (const std::exception& e) {
    throw ConfigError(
        key, path.string(),
        std::string("a calibration file written by ringbench calibrate (") + e.what() + ")");
  }
}

std::string link_of(const BenchmarkCase& c, int real_ranks) {
  const bool one_process = c.virtual_ranks > 1 || real_ranks == 1;
  if (c.device == DeviceKind::cpu) return one_process ? "host-copy" : "mpi";
  return one_process ? "device-copy" : "nccl";
}

std::vector<ComputeSample> compute_samples(const RunRecord& run, const BenchmarkCase& c,
                                           int concurrency) {
  std::vector<ComputeSample> samples;
  const int R = run.world_size, I = run.iterations;
  // the kind of each step, from the ring's own schedules
  const SequenceLayout layout(c.layout, c.spec.seq_len, c.ring_size(R));
  const std::shared_ptr<const AttentionPattern> pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const int last_needed = ring_last_needed_step(layout, *pattern, c.spec.heads);
  const int total_steps = run.steps;  // per rank, every timed pass
  int offset = 0;                     // the pass's first step among the rank's timed steps
  for (const char* pass : {"forward", "backward"}) {
    const auto it = run.passes.find(pass);
    if (it == run.passes.end()) continue;
    const PassTiming& t = it->second;
    const bool backward = std::string(pass) == "backward";
    const int S = I > 0 && R > 0 ? static_cast<int>(t.compute_ms.size()) / (I * R) : 0;
    const auto selected =
        run.provenance.find(backward ? "backward_kernel_selected" : "kernel_selected");
    const std::string kernel =
        selected != run.provenance.end() ? selected->second : std::string(to_string(c.kernel));
    for (int r = 0; r < R; ++r) {
      const RingSchedule schedule =
          case_schedule(c, layout, run.ranks[r].rank, pattern, last_needed);
      for (int s = 0; s < S; ++s) {
        const double flops = run.step_flops[static_cast<std::size_t>(r) * total_steps + offset + s];
        if (flops <= 0) continue;
        std::vector<double> ms;
        for (int i = 0; i < I; ++i)
          ms.push_back(t.compute_ms[(static_cast<std::size_t>(i) * R + r) * S + s]);
        samples.push_back({std::string(to_string(c.device)), kernel, pass,
                           std::string(to_string(c.spec.dtype)), static_cast<int>(c.spec.head_dim),
                           concurrency,
                           whole_boxes(schedule.mask(s), c.spec.heads) ? "full" : c.spec.mask,
                           flops, percentile(ms, 0.5)});
      }
    }
    offset += S;
  }
  return samples;
}

}  // namespace ringbench
