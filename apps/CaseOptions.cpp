#include "apps/CaseOptions.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/Error.hpp"
#include "core/ResultsFile.hpp"
#ifdef RINGBENCH_HAVE_CUDA
#include "distributed/cuda/GpuDevice.hpp"
#endif

namespace ringbench {

namespace po = boost::program_options;

po::options_description case_options_description() {
  po::options_description d("Case options (same keys in --config files)");
  auto text = [] { return po::value<std::string>(); };
  auto list = [] { return po::value<std::vector<std::string>>()->multitoken(); };
  d.add_options()("config", text(), "INI file of key = value lines (command line wins)")(
      "preset", text(), "preset of configs/: production, medium, long, document, context, book")(
      "ranks", list(), "ring sizes to run every case on (first N ranks), e.g. 1,2,4 or all [all]")(
      "scaling", text(),
      "with several ranks: strong (same seq-len), weak (same tokens/rank), both")(
      "seq-len", list(), "total sequence length(s), e.g. 4096 64K 1M (K = 1024) [4096]")(
      "heads", list(), "query heads, list [4]")("kv-heads", text(),
                                                "K/V heads for GQA, divides heads; 0 = heads [0]")(
      "head-dim", list(), "head dimension(s): 32 64 96 128 256 [64]")(
      "batch", text(), "batch size, or auto: tokens-per-step / seq-len for each length [1]")(
      "tokens-per-step", text(), "tokens per step with batch auto; 0 = the largest seq-len [0]")(
      "dtype", text(), "auto | fp32 | bf16 | fp16 (auto: fp32 on cpu, bf16 on cuda) [auto]")(
      "mask", list(), "none | causal, list [none]")(
      "layout", list(), "contiguous | zigzag | striped, list [contiguous]")(
      "pass", list(),
      "fwd | bwd | fwdbwd: forward, backward (from an untimed forward), or both, list [fwd]")(
      "softmax-scale", text(), "score scale; 0 = 1/sqrt(head-dim) [0]")("device", text(),
                                                                        "auto | cpu | cuda [auto]")(
      "kernel", list(),
      "auto | cpu | flash | cudnn | reference (auto: the fastest GPU kernel, measured; cpu on cpu) "
      "[auto]")("virtual-ranks", text(),
                "run the schedule of a P-way ring in one process (one GPU) [0 = off]")(
      "gpu", text(), "GPU ordinal for this rank; -1 = by node-local rank [-1]")(
      "timeout", text(), "seconds a rank waits for GPU/NCCL work before aborting [600]")(
      "warmup", text(), "untimed iterations first [1]")("iters", text(), "timed iterations [5]")(
      "check", po::value<std::string>()->implicit_value("true"),
      "compare with the float64 reference; exit 1 beyond tolerance [false]")(
      "tolerance", text(), "relative error allowed by --check; 0 = by dtype [0]")(
      "seed", text(), "seed of the input generator [42]")(
      "dump-tensors", po::value<std::string>()->implicit_value("true"),
      "store global Q, K, V, O, LSE in the results file (small runs) [false]")(
      "output", text(), "HDF5 results file, appended; 'none' to skip [results.h5]")(
      "trace", text(),
      "write a Chrome-trace/Perfetto timeline of the cases to this JSON file [none]");
  return d;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

std::string find_config(const std::string& file) {
  namespace fs = std::filesystem;
  const char* env = std::getenv("RINGBENCH_CONFIG_DIR");
  for (const char* dir : {env, static_cast<const char*>(RINGBENCH_SOURCE_CONFIG_DIR)}) {
    if (dir && fs::exists(fs::path(dir) / file)) return (fs::path(dir) / file).string();
  }
  throw ConfigError("RINGBENCH_CONFIG_DIR", env ? env : "",
                    "a folder holding " + file + " (the project's configs/)");
}

bool cuda_available() {
#ifdef RINGBENCH_HAVE_CUDA
  return visible_gpu_count() > 0;
#else
  return false;
#endif
}

std::int64_t parse_count(const std::string& key, const std::string& text) {
  const std::string allowed = "a positive integer, optionally with suffix K, M or G (x1024)";
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr == text.data()) throw ConfigError(key, text, allowed);
  std::int64_t unit = 1;
  if (ptr != end) {
    const std::string suffix(ptr, end);
    if (suffix == "K" || suffix == "k")
      unit = std::int64_t{1} << 10;
    else if (suffix == "M" || suffix == "m")
      unit = std::int64_t{1} << 20;
    else if (suffix == "G" || suffix == "g")
      unit = std::int64_t{1} << 30;
    else
      throw ConfigError(key, text, allowed);
  }
  if (value > (std::int64_t{1} << 62) / unit) throw ConfigError(key, text, allowed);
  return value * unit;
}

namespace {

// A map of key -> raw text values, from the command line, then the config file, then defaults.
class RawOptions {
 public:
  explicit RawOptions(po::variables_map vm) : vm_(std::move(vm)) {}

  std::string text(const std::string& key, const std::string& fallback) const {
    return vm_.count(key) ? vm_[key].as<std::string>() : fallback;
  }
  std::vector<std::string> list(const std::string& key, const std::string& fallback) const {
    std::vector<std::string> raw{fallback};
    if (vm_.count(key)) raw = vm_[key].as<std::vector<std::string>>();
    std::vector<std::string> items;
    for (std::string chunk : raw) {
      for (char& ch : chunk)
        if (ch == ',') ch = ' ';
      std::istringstream in(chunk);
      for (std::string item; in >> item;) items.push_back(item);
    }
    if (items.empty()) throw ConfigError(key, "", "one or more values");
    return items;
  }

 private:
  po::variables_map vm_;
};

int parse_int(const std::string& key, const std::string& text, int min_value) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min_value)
    throw ConfigError(key, text, "an integer >= " + std::to_string(min_value));
  return value;
}

double parse_real(const std::string& key, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && v >= 0.0) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError(key, text, "a number >= 0");
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  throw ConfigError(key, text, "true or false");
}

DeviceKind parse_device(const std::string& text, bool cuda_usable) {
  if (text == "cpu") return DeviceKind::cpu;
  if (text == "cuda") {
    if (!cuda_usable)
      throw ConfigError("device", text, "auto, cpu (no CUDA GPU usable by this build and machine)");
    return DeviceKind::cuda;
  }
  if (text == "auto") return cuda_usable ? DeviceKind::cuda : DeviceKind::cpu;
  throw ConfigError("device", text, "auto, cpu, cuda");
}

// "--seq-len" -> "seq-len": errors name keys as config files spell them.
std::string key_of(const po::error_with_option_name& e) {
  std::string name = e.get_option_name();
  return name.substr(std::min(name.find_first_not_of('-'), name.size()));
}

// Boost reports errors in its own words; restate them in ours (key, value, allowed).
[[noreturn]] void rethrow_as_config_error(const po::error& e) {
  if (const auto* u = dynamic_cast<const po::unknown_option*>(&e))
    throw ConfigError(key_of(*u), "", "a known option (see --help)");
  if (const auto* m = dynamic_cast<const po::invalid_command_line_syntax*>(&e))
    throw ConfigError(key_of(*m), "", std::string("valid syntax: ") + e.what());
  if (const auto* m = dynamic_cast<const po::multiple_occurrences*>(&e))
    throw ConfigError(key_of(*m), "(given twice)", "one occurrence");
  throw ConfigError("command line", "", e.what());
}

void store_config_file(const std::string& path, const po::options_description& desc,
                       po::variables_map& vm) {
  std::ifstream in(path);
  if (!in) throw ConfigError("config", path, "a readable INI file");
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
  } catch (const po::error& e) {
    try {
      rethrow_as_config_error(e);
    } catch (const ConfigError& c) {
      throw ConfigError(c.key() + " (in " + path + ")", c.value(), c.allowed());
    }
  }
}

// `preset = NAME` is a config file of configs/ below the command line and --config; only the
// fixed names are accepted, so a job file cannot name any other file.
void store_preset(const po::options_description& desc, po::variables_map& vm) {
  if (!vm.count("preset")) return;
  const std::string name = vm["preset"].as<std::string>();
  std::string allowed;
  for (const char* p : kPresets) {
    if (name == p) return store_config_file(find_config(name + ".ini"), desc, vm);
    allowed += (allowed.empty() ? "" : ", ") + std::string(p);
  }
  throw ConfigError("preset", name, allowed);
}

po::variables_map gather_values(const std::vector<std::string>& args,
                                const std::string& defaults_file) {
  const po::options_description desc = case_options_description();
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
  } catch (const po::error& e) {
    rethrow_as_config_error(e);
  }
  if (vm.count("config")) store_config_file(vm["config"].as<std::string>(), desc, vm);
  store_preset(desc, vm);
  if (!defaults_file.empty()) store_config_file(defaults_file, desc, vm);
  return vm;
}

po::variables_map gather_job_values(const std::string& ini_text) {
  const po::options_description desc = case_options_description();
  po::variables_map vm;
  std::istringstream in(ini_text);
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
  } catch (const po::error& e) {
    rethrow_as_config_error(e);
  }
  // Screened out before (JobFile); refused here too, since these keys name files.
  for (const char* key : {"config", "output", "trace", "dump-tensors"})
    if (vm.count(key))
      throw ConfigError(key, "(in a job)", "only on the command line, not in daemon jobs");
  store_preset(desc, vm);
  return vm;
}

KernelKind parse_kernel_option(const std::string& text, DeviceKind device) {
  const KernelKind kernel = parse_kernel(text, device);
#ifndef RINGBENCH_HAVE_CUDNN
  if (kernel == KernelKind::cudnn)
    throw ConfigError("kernel", "cudnn",
                      "auto, flash, reference (this build has no cuDNN frontend)");
#endif
  return kernel;
}

// The results and trace files of a command line (jobs have neither: the daemon writes its own).
void parse_output_files(const RawOptions& raw, CaseOptions& out) {
  out.output = raw.text("output", "results.h5");
  if (out.output == "none") out.output.clear();
  if (!out.output.empty()) check_results_file_usable(out.output);
  out.trace = raw.text("trace", "");
  const std::filesystem::path trace_dir = std::filesystem::path(out.trace).parent_path();
  if (!out.trace.empty() && !trace_dir.empty() && !std::filesystem::is_directory(trace_dir))
    throw ConfigError("trace", out.trace, "a file in an existing folder");
}

std::vector<std::int64_t> parse_seq_lens(const RawOptions& raw) {
  std::vector<std::int64_t> lens;
  for (const auto& seq : raw.list("seq-len", "4096")) lens.push_back(parse_count("seq-len", seq));
  return lens;
}

void expand_cases(const RawOptions& raw, const ParseTarget& target, CaseOptions& out) {
  const int world_size = target.world_size;
  BenchmarkCase base;
  base.device = parse_device(raw.text("device", "auto"), target.cuda.value_or(cuda_available()));
  base.virtual_ranks = parse_int("virtual-ranks", raw.text("virtual-ranks", "0"), 0);
  base.gpu = parse_int("gpu", raw.text("gpu", "-1"), -1);
  base.timeout_s = parse_real("timeout", raw.text("timeout", "600"));
  base.spec.kv_heads = parse_int("kv-heads", raw.text("kv-heads", "0"), 0);
  const std::string dtype = raw.text("dtype", "auto");
  base.spec.dtype = dtype == "auto" ? (base.device == DeviceKind::cuda ? DType::bf16 : DType::fp32)
                                    : parse_dtype(dtype);
  base.spec.softmax_scale = parse_real("softmax-scale", raw.text("softmax-scale", "0"));
  base.warmup = parse_int("warmup", raw.text("warmup", "1"), 0);
  base.iters = parse_int("iters", raw.text("iters", "5"), 1);
  base.check = parse_bool("check", raw.text("check", "false"));
  base.tolerance = parse_real("tolerance", raw.text("tolerance", "0"));
  base.seed = static_cast<std::uint64_t>(parse_count("seed", raw.text("seed", "42")));
  base.dump_tensors = parse_bool("dump-tensors", raw.text("dump-tensors", "false"));

  const std::vector<std::int64_t> seq_lens = parse_seq_lens(raw);
  const BatchRule batch =
      parse_batch_rule(raw.text("batch", "1"), raw.text("tokens-per-step", "0"), seq_lens);
  const ScalingRequest scaling =
      parse_scaling(raw.list("ranks", "all"), raw.text("scaling", "both"), world_size);
  for (const auto seq_len : seq_lens)
    for (const auto& heads : raw.list("heads", "4"))
      for (const auto& dim : raw.list("head-dim", "64"))
        for (const auto& mask : raw.list("mask", "none"))
          for (const auto& layout : raw.list("layout", "contiguous"))
            for (const auto& pass : raw.list("pass", "fwd"))
              for (const auto& kernel : raw.list("kernel", "auto")) {
                BenchmarkCase c = base;
                c.spec.seq_len = seq_len;
                c.spec.batch = batch.batch_for(seq_len);
                c.spec.heads = parse_count("heads", heads);
                c.spec.head_dim = parse_count("head-dim", dim);
                c.spec.mask = parse_mask(mask);
                c.layout = parse_layout(layout);
                c.pass = parse_pass(pass);
                c.kernel = parse_kernel_option(kernel, c.device);
                if (target.max_cases && out.cases.size() >= target.max_cases)
                  throw ConfigError("job",
                                    "(more than " + std::to_string(target.max_cases) + " cases)",
                                    "at most " + std::to_string(target.max_cases) + " cases");
                add_placed_cases(c, scaling, world_size, out.cases, out.placements);
              }
}

}  // namespace

CaseOptions parse_case_options(const std::vector<std::string>& args, int world_size,
                               const std::string& defaults_file) {
  const RawOptions raw(gather_values(args, defaults_file));
  CaseOptions out;
  parse_output_files(raw, out);
  expand_cases(raw, ParseTarget{world_size, std::nullopt}, out);
  return out;
}

CaseOptions parse_job_options(const std::string& ini_text, const ParseTarget& target) {
  const RawOptions raw(gather_job_values(ini_text));
  CaseOptions out;
  expand_cases(raw, target, out);
  return out;
}

}  // namespace ringbench
