// `ringbench plan`: what a case would cost on a cluster, from this machine's calibration: per
// GPU count the memory per rank (the runs' own memory plan), the slowest rank's compute and
// transfers, the exposed communication, the iteration time and TFLOP/s per GPU, and the longest
// sequence that fits; a CSV and a plot on request. `plan --validate RESULTS` sets every measured
// run of a results file beside its prediction instead.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/CommandArgs.hpp"
#include "apps/Commands.hpp"
#include "apps/PlanInputs.hpp"
#include "apps/ResultsInput.hpp"
#include "core/Error.hpp"
#include "ring/plan/CostModel.hpp"

namespace ringbench {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

void print_help() {
  std::cout
      << "usage: ringbench plan --calibration FILE [cluster options] [case options]\n"
         "       ringbench plan --calibration FILE --validate RESULTS [--max-error F]\n"
         "Predicts each case on 1 ... 4096 GPUs (or CPU ranks) from a calibration file\n"
         "(ringbench calibrate): memory per rank (the run's memory plan), compute and transfer\n"
         "of the slowest rank, exposed communication, iteration time, TFLOP/s per GPU, and the\n"
         "longest sequence that fits. --validate: every run of RESULTS beside its prediction.\n"
         "  --calibration FILES    what calibrate measured (required; several files add up, e.g.\n"
         "                         one per ranks-per-host)\n"
         "  --gpus LIST            ring sizes [1,2,4,...,4096]\n"
         "  --gpus-per-node G      ranks per host; links beyond it are inter-node [8]\n"
         "  --gpu-memory BYTES     memory per rank, e.g. 141G [the calibration's free memory]\n"
         "  --intra-gbps X --intra-latency-us Y   the link inside a node [calibrated, else NCCL\n"
         "                         between H200s as ../shared/ANCHORS.md measured it]\n"
         "  --inter-gbps X --inter-latency-us Y   between nodes [assumed 50 GB/s, 10 us]\n"
         "  --csv FILE             the table as CSV\n"
         "  --plot FILE            a PNG of iteration time and memory per GPU vs GPUs (python3\n"
         "                         with matplotlib, tools/report/plan_plot.py)\n"
         "  --validate RESULTS     predict every run of a results file, print the errors\n"
         "  --max-error F          with --validate: exit 1 when an iteration time is off by more\n"
         "                         than F (0.1 = 10 %) or a memory plan differs\n\n"
      << case_options_description() << "\n";
}

std::vector<int> parse_gpus(const std::optional<std::vector<std::string>>& given) {
  std::vector<int> gpus;
  if (!given) {
    for (int n = 1; n <= 4096; n *= 2) gpus.push_back(n);
    return gpus;
  }
  for (const auto& text : *given) {
    const std::int64_t n = parse_integer("gpus", text, "integers 1..65536");
    if (n < 1 || n > 65536) throw ConfigError("gpus", text, "integers 1..65536");
    gpus.push_back(static_cast<int>(n));
  }
  return gpus;
}

std::string describe(const BenchmarkCase& c) {
  char text[256];
  std::snprintf(text, sizeof text, "%s %s %s seq %lld, %lld/%lld heads x %lld, %s, %s, %s",
                std::string(to_string(c.device)).c_str(), std::string(to_string(c.kernel)).c_str(),
                c.scheme_text().c_str(), static_cast<long long>(c.spec.seq_len),
                static_cast<long long>(c.spec.heads),
                static_cast<long long>(c.spec.effective_kv_heads()),
                static_cast<long long>(c.spec.head_dim), c.spec.mask.c_str(),
                std::string(to_string(c.layout)).c_str(), std::string(to_string(c.pass)).c_str());
  return text;
}

struct TableRequest {
  std::vector<BenchmarkCase> cases;
  std::vector<int> gpus;
  int gpus_per_node = 8;
  double memory = 0;
  ClusterLinks links;
  std::string csv, plot;
};

int print_table(const TableRequest& req, const ComputeModel& model) {
  std::ofstream csv;
  if (!req.csv.empty()) {
    csv.open(req.csv);
    csv << "case,gpus,nodes,seq_len,tokens_per_gpu,memory_gib,fits,compute_ms,transfer_ms,"
           "exposed_ms,iteration_ms,tflops_per_gpu,bytes_per_gpu,longest_fitting\n";
  }
  int index = 0;
  for (const BenchmarkCase& base : req.cases) {
    std::printf("\n# case %d: %s; memory per GPU %.1f GiB\n", index, describe(base).c_str(),
                req.memory / kGiB);
    std::printf("# links: inside a node %s; between nodes %s\n", req.links.intra.words().c_str(),
                req.links.inter.words().c_str());
    std::printf("# %6s %5s %12s %10s %6s %11s %11s %9s %12s %9s %14s\n", "gpus", "nodes",
                "tokens/gpu", "mem_GiB", "fits", "compute_ms", "transfer_ms", "exposed",
                "iteration_ms", "TFLOP/s", "longest_fits");
    std::vector<std::string> notes;
    for (const int n : req.gpus) {
      BenchmarkCase c = base;
      try {
        validate(c, n);
      } catch (const ConfigError& e) {
        std::printf("  %6d  (not a ring of %d: %s)\n", n, n, e.what());
        continue;
      }
      PlanCluster cluster;
      cluster.ranks = n;
      cluster.ranks_per_host = req.gpus_per_node;
      cluster.concurrency = c.device == DeviceKind::cpu ? std::min(n, req.gpus_per_node) : 1;
      cluster.intra = req.links.intra;
      cluster.inter = req.links.inter;
      cluster.memory_per_rank = req.memory;
      const RingPrediction p = predict_ring(c, cluster, model);
      const std::int64_t longest =
          req.memory > 0
              ? longest_fitting(c, n, req.memory, n > 1 ? RankRole::linked : RankRole::resident)
              : 0;
      const int nodes = (n + req.gpus_per_node - 1) / req.gpus_per_node;
      const double exposed = p.iteration_ms > 0 ? p.exposed_ms / p.iteration_ms : 0;
      std::printf("  %6d %5d %12lld %10.2f %6s %11.4g %11.4g %8.1f%% %12.5g %9.4g %14lld\n", n,
                  nodes, static_cast<long long>(p.local_len), p.memory_bytes / kGiB,
                  p.fits ? "yes" : "NO", p.compute_ms, p.transfer_ms, 100 * exposed, p.iteration_ms,
                  p.tflops_per_rank, static_cast<long long>(longest));
      if (csv)
        csv << index << "," << n << "," << nodes << "," << p.seq_len << "," << p.local_len << ","
            << p.memory_bytes / kGiB << "," << (p.fits ? 1 : 0) << "," << p.compute_ms << ","
            << p.transfer_ms << "," << p.exposed_ms << "," << p.iteration_ms << ","
            << p.tflops_per_rank << "," << p.bytes_per_rank << "," << longest << "\n";
      for (const auto& note : p.notes)
        if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
    }
    for (const auto& note : notes) std::printf("#   %s\n", note.c_str());
    ++index;
  }
  csv.close();  // whole on disk before the plot reads it
  if (!req.plot.empty()) {
    const std::string command =
        "python3 \"" RINGBENCH_SOURCE_PLAN_PLOT "\" \"" + req.csv + "\" \"" + req.plot + "\"";
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("the plot helper failed: " + command);
    std::printf("# plot written to %s\n", req.plot.c_str());
  }
  return 0;
}

// Several calibrations as one: their samples together, the first file's machine description.
Calibration read_calibrations(const std::vector<std::string>& files) {
  Calibration all = read_calibration(files.front(), "calibration");
  for (std::size_t i = 1; i < files.size(); ++i) {
    const Calibration more = read_calibration(files[i], "calibration");
    all.compute.insert(all.compute.end(), more.compute.begin(), more.compute.end());
    all.links.insert(all.links.end(), more.links.begin(), more.links.end());
  }
  return all;
}

int validate_results(const std::string& path, const Calibration& cal, Args& args,
                     double max_error) {
  const ComputeModel model(cal.compute);
  std::printf("# %-10s %-62s %12s %12s %8s %12s %12s\n", "run", "case", "measured_ms",
              "predicted_ms", "error", "memory_MiB", "planned_MiB");
  bool failed = false;
  std::vector<double> errors;
  const Args link_args = args;
  for (const IdentifiedRun& r : read_all_runs(path)) {
    std::string why;
    const auto m = measured_ring(r.run, why);
    if (!m) {
      std::printf("  %-10s (not predicted: %s)\n", r.id.c_str(), why.c_str());
      continue;
    }
    Args mine = link_args;
    const ClusterLinks links = cluster_links(mine, m->c.device, cal, m->link);
    PlanCluster cluster = m->cluster;
    cluster.intra = links.intra;
    cluster.inter = links.inter;
    BenchmarkCase c = m->c;
    if (c.kernel == KernelKind::automatic) c.kernel = parse_kernel(m->kernel, c.device);
    RingPrediction p;
    try {
      p = predict_ring(c, cluster, model);
    } catch (const ConfigError& e) {
      std::printf("  %-10s (not predicted: %s)\n", r.id.c_str(), e.what());
      continue;
    }
    const double error = m->measured_ms > 0 ? p.iteration_ms / m->measured_ms - 1 : 0;
    // cuDNN's graphs hold a workspace the plan does not know before they are built
    const bool memory_exact = m->measured_memory == p.memory_bytes;
    const bool workspace = m->kernel == "cudnn" && m->measured_memory > p.memory_bytes;
    std::string ring = std::to_string(cluster.ranks) + (m->c.virtual_ranks > 1 ? " virtual"
                                                        : cluster.emulated     ? " emulated"
                                                                               : " ranks");
    std::printf("  %-10s %-62s %12.3f %12.3f %+7.1f%% %12.2f %12.2f %s\n", r.id.c_str(),
                (describe(m->c) + ", " + ring).substr(0, 62).c_str(), m->measured_ms,
                p.iteration_ms, 100 * error, m->measured_memory / (1 << 20),
                p.memory_bytes / (1 << 20),
                memory_exact ? "exact"
                : workspace  ? "+cuDNN workspace"
                             : "DIFFERS");
    errors.push_back(std::abs(error));
    failed |= (!memory_exact && !workspace) || (max_error > 0 && std::abs(error) > max_error);
  }
  if (!errors.empty()) {
    std::sort(errors.begin(), errors.end());
    std::printf("# %zu runs predicted: median |error| %.1f %%, largest %.1f %%\n", errors.size(),
                100 * errors[errors.size() / 2], 100 * errors.back());
  }
  return failed && max_error >= 0 ? 1 : 0;
}

}  // namespace

int plan_command(const Args& raw, const MpiRuntime& rt) {
  if (wants_help(raw)) {
    if (rt.is_root()) print_help();
    return 0;
  }
  if (rt.size() != 1)
    throw ConfigError("ranks", std::to_string(rt.size()), "1 (run ringbench plan as one process)");
  Args args = raw;
  const auto files = take_option(args, "calibration", false);
  if (!files || files->empty())
    throw ConfigError("calibration", "(missing)", "a calibration file (ringbench calibrate)");
  const std::string results = take_single(args, "validate", "");
  const std::string max_error_text = take_single(args, "max-error", "");
  const double max_error =
      max_error_text.empty() ? -1 : parse_number("max-error", max_error_text, "a fraction >= 0");
  if (!max_error_text.empty() && !(max_error >= 0))
    throw ConfigError("max-error", max_error_text, "a fraction >= 0");
  const Calibration cal = read_calibrations(*files);
  if (!results.empty()) {
    require_results_file("validate", results);
    Args rest = args;  // the link options are taken per run; nothing else belongs here
    cluster_links(rest, cal.device_name == "cpu" ? DeviceKind::cpu : DeviceKind::cuda, cal, "mpi");
    if (!rest.empty())
      throw ConfigError(rest.front(), "given",
                        "plan --validate takes --max-error and link options");
    return validate_results(results, cal, args, max_error);
  }
  TableRequest req;
  req.gpus = parse_gpus(take_option(args, "gpus"));
  req.gpus_per_node = static_cast<int>(
      parse_integer("gpus-per-node", take_single(args, "gpus-per-node", "8"), "an integer >= 1"));
  if (req.gpus_per_node < 1)
    throw ConfigError("gpus-per-node", std::to_string(req.gpus_per_node), "an integer >= 1");
  const std::string memory = take_single(args, "gpu-memory", "");
  req.memory =
      memory.empty() ? cal.memory_free : static_cast<double>(parse_count("gpu-memory", memory));
  req.csv = take_single(args, "csv", "");
  req.plot = take_single(args, "plot", "");
  if (!req.plot.empty() && req.csv.empty()) req.csv = req.plot + ".csv";
  // the cases as they would run on a machine with the calibrated device
  const bool cuda = cal.device_name != "cpu";
  const std::string device = cuda ? "cuda" : "cpu";
  req.links =
      cluster_links(args, cuda ? DeviceKind::cuda : DeviceKind::cpu, cal, cuda ? "nccl" : "mpi");
  args.insert(args.end(), {"--output", "none"});
  if (std::find(args.begin(), args.end(), "--device") == args.end())
    args.insert(args.end(), {"--device", device});
  req.cases = parse_case_options(args, ParseTarget{1, cuda}).cases;
  return print_table(req, ComputeModel(cal.compute));
}

}  // namespace ringbench
