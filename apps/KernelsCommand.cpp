// `ringbench kernels`: the single-GPU backend comparison attention benchmark suites print: every
// available kernel on every case, forward and (with --pass bwd or fwdbwd) backward time (medians
// of CUDA events), TFLOP/s, memory and relative errors of O and of the gradients against the
// reference; one table, the runs appended to the results file, and a non-zero exit when a
// kernel's output is wrong. Each case is a one-rank ring: one block, merged into an empty result
// (backward: one block's gradients), exactly what the kernel does inside a ring.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ResultTable.hpp"
#include "core/Error.hpp"
#include "core/ResultsFile.hpp"
#include "ring/RingBenchmark.hpp"

namespace ringbench {

namespace {

// Takes "--kernels a b c" (or comma-separated) out of args; defaults to what this build can run.
std::vector<KernelKind> take_kernel_list(Args& args, DeviceKind device) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] != "--kernels") {
      ++i;
      continue;
    }
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    while (i < args.size() && args[i].rfind("--", 0) != 0) {
      std::string item = args[i];
      for (char& ch : item)
        if (ch == ',') ch = ' ';
      std::istringstream in(item);
      for (std::string name; in >> name;) names.push_back(name);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (names.empty()) {
    if (device == DeviceKind::cpu) return {KernelKind::cpu};
#ifdef RINGBENCH_HAVE_CUDNN
    return {KernelKind::cudnn, KernelKind::flash, KernelKind::reference};
#else
    return {KernelKind::flash, KernelKind::reference};
#endif
  }
  std::vector<KernelKind> kinds;
  for (const auto& n : names) {
    KernelKind k = KernelKind::cpu;
    try {
      k = parse_kernel(n, device);
    } catch (const ConfigError& e) {
      throw ConfigError("kernels", n, e.allowed());  // the key this command was given
    }
    if (k == KernelKind::automatic || (k == KernelKind::cpu) != (device == DeviceKind::cpu))
      throw ConfigError(
          "kernels", n,
          device == DeviceKind::cpu ? "cpu (no GPU in this run)" : "flash, cudnn, reference");
#ifndef RINGBENCH_HAVE_CUDNN
    if (k == KernelKind::cudnn)
      throw ConfigError("kernels", n, "flash, reference (this build has no cuDNN frontend)");
#endif
    kinds.push_back(k);
  }
  return kinds;
}

std::string value(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return v;
  return "?";
}

void print_header() {
  std::printf("#%10s %10s %7s %4s %6s %5s %6s %10s %10s %10s %9s %10s %10s %8s\n", "kernel", "seq",
              "heads", "hdim", "mask", "dtype", "pass", "fwd_ms", "bwd_ms", "TFLOP/s", "mem_GiB",
              "rel_err", "grad_err", "verdict");
}

void print_row(const RunRecord& run) {
  const std::string heads = value(run, "heads") + "/" + value(run, "kv-heads");
  std::printf(" %10s %10s %7s %4s %6s %5s %6s %10s %10s %10.1f %9.2f %10.2e %10s %8s\n",
              kernel_of(run).c_str(), value(run, "seq-len").c_str(), heads.c_str(),
              value(run, "head-dim").c_str(), value(run, "mask").c_str(),
              value(run, "dtype").c_str(), value(run, "pass").c_str(), pass_ms(run, "fwd_").c_str(),
              pass_ms(run, "bwd_").c_str(), run.summary.at("tflops_per_rank"),
              run.summary.at("peak_mem_bytes") / (1024.0 * 1024.0 * 1024.0), run.check->rel_err,
              gradient_error(run).c_str(), run.check->passed ? "ok" : "WRONG");
  std::fflush(stdout);
}

}  // namespace

int kernels_command(const Args& raw_args, const MpiRuntime& rt) {
  if (wants_help(raw_args)) {
    if (rt.is_root())
      std::cout
          << "usage: ringbench kernels [--kernels LIST] [case options]\n"
             "Compares the block kernels on one GPU (or the CPU): forward (and with --pass bwd or\n"
             "fwdbwd backward) time, TFLOP/s, memory, errors of O and of the gradients against\n"
             "the reference. --kernels: flash cudnn reference (default: all built).\n\n"
          << case_options_description() << "\n";
    return 0;
  }
  if (rt.size() != 1)
    throw ConfigError("ranks", std::to_string(rt.size()),
                      "1 (run ringbench kernels as one process)");
  Args args = raw_args;
  std::string device = cuda_available() ? "cuda" : "cpu";
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--device") device = args[i + 1];
  const bool named = std::find(args.begin(), args.end(), "--kernels") != args.end();
  const std::vector<KernelKind> kernels =
      take_kernel_list(args, device == "cpu" ? DeviceKind::cpu : DeviceKind::cuda);
  args.insert(args.end(), {"--check", "true"});
  const CaseOptions options =
      parse_case_options(args, 1, device == "cuda" ? find_config("kernels.ini") : "");
  // Every (case, kernel) pair is judged before anything runs: a kernel the user named that cannot
  // take a case is refused (its name in the message); one of the defaults is left out, saying why.
  std::vector<BenchmarkCase> runs;
  std::vector<std::string> left_out;
  std::optional<ConfigError> first_refusal;
  for (const auto& base : options.cases)
    for (KernelKind kernel : kernels) {
      BenchmarkCase c = base;
      c.kernel = kernel;
      try {
        validate(c, 1);  // the kernel's own constraints (head dim, dtype, pattern)
        runs.push_back(c);
      } catch (const ConfigError& e) {
        if (named) throw;
        if (!first_refusal) first_refusal = e;
        left_out.push_back(std::string(to_string(kernel)) + " with mask " + c.spec.mask + ": " +
                           e.key() + " must be " + e.allowed());
      }
    }
  if (runs.empty() && first_refusal) throw *first_refusal;  // no kernel takes any case
  print_header();
  for (const std::string& why : left_out) std::printf("# left out: %s\n", why.c_str());
  bool wrong = false;
  for (const BenchmarkCase& c : runs) {
    BenchmarkOutcome out = run_ring_benchmark(c, rt);
    out.record.provenance["suite"] = "kernels";
    print_row(out.record);
    wrong |= out.check_failed;
    if (!options.output.empty()) append_run(options.output, out.record);
  }
  if (!options.output.empty()) std::printf("# results appended to %s\n", options.output.c_str());
  std::printf("# verdict: %s\n",
              wrong ? "a kernel's output is WRONG" : "every kernel within tolerance");
  return wrong ? 1 : 0;
}

}  // namespace ringbench
