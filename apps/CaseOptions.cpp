#include "apps/CaseOptions.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include "core/Error.hpp"
#include "core/FileDescriptor.hpp"
#include "core/PatternSpec.hpp"
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
      "preset", text(),
      "preset of configs/: production, medium, long, document, context, book, patterns")(
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
      "mask", list(),
      "attention patterns, list separated by spaces only: none | causal | window:L:R | "
      "longformer:L:R:G | bigbird:B:W:G:N[:SEED] | dilated:W1,W2,..:R1,R2,.. | "
      "blocksparse:B:DENSITY[:SEED], each optionally +causal [none]")(
      "layout", list(), "contiguous | zigzag | striped, list [contiguous]")(
      "scheme", list(),
      "context parallelism: ring | allgather | allgather-pipelined | ulysses | hybrid:UxR (Ulysses "
      "in groups of U ranks, the ring across R groups) | doublering:I (inner rings of I ranks in "
      "an "
      "outer ring), list [ring]")(
      "pass", list(),
      "fwd | bwd | fwdbwd: forward, backward (from an untimed forward), or both, list [fwd]")(
      "softmax-scale", text(), "score scale; 0 = 1/sqrt(head-dim) [0]")("device", text(),
                                                                        "auto | cpu | cuda [auto]")(
      "kernel", list(),
      "auto | cpu | flash | cudnn | reference (auto: the fastest GPU kernel, measured; cpu on cpu) "
      "[auto]")("virtual-ranks", text(),
                "run the schedule of a P-way ring in one process (one GPU) [0 = off]")(
      "ring-size", text(),
      "members of the ring; above the ranks, an emulated ring: each rank plays some of its "
      "members, their K/V blocks generated, the real link moving the same bytes [0 = the ranks]")(
      "members", text(), "emulated members played: auto | all | indices like 0,511,1023 [auto]")(
      "sample-steps", text(),
      "emulated ring: run only this many evenly spaced steps, count the rest at their mean "
      "[0 = every step]")("gpu", text(), "GPU ordinal for this rank; -1 = by node-local rank [-1]")(
      "timeout", text(), "seconds a rank waits for GPU/NCCL work before aborting [600]")(
      "warmup", text(), "untimed iterations first [1]")("iters", text(), "timed iterations [5]")(
      "check", po::value<std::string>()->implicit_value("true"),
      "compare with the float64 reference; exit 1 beyond tolerance [false]")(
      "check-rows", text(),
      "check only N query rows spread over the sequence, each against every key in float64 "
      "(scales to any length; implies --check) [0 = every row]")(
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

double parse_number(const std::string& key, const std::string& text, const std::string& allowed) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && !std::isnan(v)) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError(key, text, allowed);
}

std::int64_t parse_integer(const std::string& key, const std::string& text,
                           const std::string& allowed) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) throw ConfigError(key, text, allowed);
  return value;
}

std::string printable_excerpt(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (const unsigned char ch : text) {
    if (out.size() >= max_chars) return out + "...";
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", ch);
      out += hex;
    }
  }
  return out;
}

namespace {

// "--seq-len" -> "seq-len": errors name keys as config files spell them.
std::string key_of(const po::error_with_option_name& e) {
  std::string name = e.get_option_name();
  return name.substr(std::min(name.find_first_not_of('-'), name.size()));
}

}  // namespace

// Boost reports errors in its own words; restate them in ours (key, value, allowed).
void throw_as_config_error(const po::error& e) {
  if (const auto* u = dynamic_cast<const po::unknown_option*>(&e))
    throw ConfigError(key_of(*u), "", "a known option (see --help)");
  if (const auto* m = dynamic_cast<const po::invalid_command_line_syntax*>(&e))
    throw ConfigError(key_of(*m), "", std::string("valid syntax: ") + e.what());
  if (const auto* m = dynamic_cast<const po::multiple_occurrences*>(&e))
    throw ConfigError(key_of(*m), "(given twice)", "one occurrence");
  if (const auto* m = dynamic_cast<const po::error_with_option_name*>(&e))
    throw ConfigError(key_of(*m), "", e.what());
  throw ConfigError("command line", "", e.what());
}

namespace {

// A map of key -> raw text values, from the command line, then the config file, then defaults.
class RawOptions {
 public:
  explicit RawOptions(po::variables_map vm) : vm_(std::move(vm)) {}

  bool given(const std::string& key) const { return vm_.count(key) > 0; }
  std::string text(const std::string& key, const std::string& fallback) const {
    return vm_.count(key) ? vm_[key].as<std::string>() : fallback;
  }
  // Items separated by spaces only (mask specs carry commas).
  std::vector<std::string> spaced_list(const std::string& key, const std::string& fallback) const {
    std::vector<std::string> items;
    for (const auto& chunk : vm_.count(key) ? vm_[key].as<std::vector<std::string>>()
                                            : std::vector<std::string>{fallback})
      for (auto& item : split_mask_list(chunk)) items.push_back(item);
    if (items.empty()) throw ConfigError(key, "", "one or more values");
    return items;
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
  const std::string allowed = "an integer >= " + std::to_string(min_value);
  const std::int64_t value = parse_integer(key, text, allowed);
  if (value < min_value || value > std::numeric_limits<int>::max())
    throw ConfigError(key, text, allowed);
  return static_cast<int>(value);
}

// A number >= 0; `allowed` says what it means (0 is refused later where it is not allowed).
double parse_real(const std::string& key, const std::string& text, const std::string& allowed) {
  const double v = parse_number(key, text, allowed);
  if (!(v >= 0.0)) throw ConfigError(key, text, allowed);
  return v;
}

// The generator takes 64 bits, but a negative seed must not wrap to 18446744073709551615: seeds
// are the integers 0..2^63-1, the same in results files, exports and on every rank.
std::uint64_t parse_seed(const std::string& text) {
  const std::string allowed = "an integer from 0 to 9223372036854775807 (2^63-1)";
  const std::int64_t value = parse_integer("seed", text, allowed);
  if (value < 0) throw ConfigError("seed", text, allowed);
  return static_cast<std::uint64_t>(value);
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

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// A config file, read whole (see kMaxConfigBytes); ConfigError(key, path, ...) says what is
// wrong with it. `key` is the option that named the file.
std::string read_config_text(const std::string& key, const std::string& path) {
  const std::string allowed = std::string("a regular INI file of at most ") + kMaxConfigText;
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (file.get() < 0) throw ConfigError(key, path, allowed + " (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw ConfigError(key, path, allowed + " (this is " + file_kind(st.st_mode) + ")");
  const std::string too_large = allowed + " (this one is larger)";
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes)
    throw ConfigError(key, path, too_large);
  std::string text(kMaxConfigBytes + 1, '\0');  // one byte more shows a file that grew meanwhile
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(file.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ConfigError(key, path, allowed + " (" + std::strerror(errno) + ")");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxConfigBytes) throw ConfigError(key, path, too_large);
  text.resize(got);
  return text;
}

// Whether `key` takes a list (multitoken), for the advice on repeated keys.
bool is_list(const po::options_description& desc, const std::string& key) {
  const po::option_description* option = desc.find_nothrow(key, false);
  return option && option->semantic()->max_tokens() > 1;
}

// A key given twice: Boost would silently make a list of it (or keep one value), so it is
// refused naming both. `both`: the two as given; `as_one`: how to write them as one list.
[[noreturn]] void refuse_repeated(const po::options_description& desc, const std::string& key,
                                  const std::string& both, const std::string& as_one) {
  throw ConfigError(key, both,
                    is_list(desc, key) ? "one occurrence; lists are written as one value: " + as_one
                                       : "one occurrence");
}

std::string joined_values(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& v : values) text += " " + v;
  return text;
}

// The command line's own repetitions (a key both on the command line and in a file is not one:
// the command line wins).
void refuse_repeated_options(const po::parsed_options& parsed,
                             const po::options_description& desc) {
  std::map<std::string, std::vector<std::string>> first;  // key -> its values
  for (const auto& o : parsed.options) {
    const auto [it, fresh] = first.emplace(o.string_key, o.value);
    if (fresh || o.string_key.empty()) continue;
    // a bare switch again (--check --check) means the same; `quick` adds its own --check
    if (o.value.empty() && it->second.empty()) continue;
    const std::string flag = "--" + o.string_key;
    refuse_repeated(desc, o.string_key,
                    flag + joined_values(it->second) + " " + flag + joined_values(o.value),
                    flag + joined_values(it->second) + joined_values(o.value));
  }
}

// Boost's reading of an INI line: the text before '#', without surrounding white space.
std::string ini_trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

bool has_control_bytes(std::string_view line) {
  return std::any_of(line.begin(), line.end(), [](unsigned char ch) {
    return (ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f;
  });
}

// A line that is not `key = value` (binary data, a [section], a bare word): one message with the
// place and the line as it reads, escaped and cut short.
[[noreturn]] void refuse_config_line(const std::string& where, std::string_view line) {
  throw ConfigError("config", where,
                    "key = value lines; this one reads \"" + printable_excerpt(line) + "\"");
}

struct ConfigEntry {
  std::string key, value;
  std::string where;  // FILE:LINE
};

void check_config_entry(const ConfigEntry& e, const po::options_description& desc,
                        std::map<std::string, ConfigEntry>& seen) {
  if (!desc.find_nothrow(e.key, false))
    throw ConfigError(printable_excerpt(e.key), e.where, "a known key (see --help)");
  if (e.key == "config")
    throw ConfigError("config", e.value,
                      "a file named on the command line: config files cannot be nested (" +
                          e.where + " names one)");
  const auto [first, fresh] = seen.emplace(e.key, e);
  if (!fresh)
    refuse_repeated(desc, e.key,
                    first->second.value + " (" + first->second.where + ") and " + e.value + " (" +
                        e.where + ")",
                    e.key + " = " + first->second.value + " " + e.value);
}

// Refuses, with the file and line, what Boost would misread or silently accept: bytes that are
// not text, lines that are not key = value, [sections], unknown keys, a nested config file and a
// key given twice (which Boost would turn into a list).
void screen_config_text(const std::string& text, const std::string& path,
                        const po::options_description& desc) {
  std::map<std::string, ConfigEntry> seen;
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    const std::string where = path + ":" + std::to_string(++number);
    if (has_control_bytes(line)) refuse_config_line(where, line);
    const std::string content = ini_trim(std::string_view(line).substr(0, line.find('#')));
    if (content.empty()) continue;
    const std::size_t eq = content.find('=');
    if (content.front() == '[' || eq == std::string::npos || eq == 0)
      refuse_config_line(where, line);
    check_config_entry({ini_trim(content.substr(0, eq)), ini_trim(content.substr(eq + 1)), where},
                       desc, seen);
  }
}

// A config file below what `vm` holds already; `key` is the option that named it.
void store_config_file(const std::string& key, const std::string& path,
                       const po::options_description& desc, po::variables_map& vm) {
  const std::string text = read_config_text(key, path);
  screen_config_text(text, path, desc);
  std::istringstream in(text);
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
  } catch (const po::error& e) {
    try {
      throw_as_config_error(e);
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
    if (name == p) return store_config_file("preset", find_config(name + ".ini"), desc, vm);
    allowed += (allowed.empty() ? "" : ", ") + std::string(p);
  }
  throw ConfigError("preset", name, allowed);
}

po::variables_map gather_values(const std::vector<std::string>& args,
                                const std::string& defaults_file) {
  const po::options_description desc = case_options_description();
  po::variables_map vm;
  try {
    const po::parsed_options parsed = po::command_line_parser(args).options(desc).run();
    refuse_repeated_options(parsed, desc);
    po::store(parsed, vm);
  } catch (const po::error& e) {
    throw_as_config_error(e);
  }
  if (vm.count("config")) store_config_file("config", vm["config"].as<std::string>(), desc, vm);
  store_preset(desc, vm);
  if (!defaults_file.empty()) store_config_file("config", defaults_file, desc, vm);
  return vm;
}

po::variables_map gather_job_values(const std::string& ini_text) {
  const po::options_description desc = case_options_description();
  po::variables_map vm;
  std::istringstream in(ini_text);
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
  } catch (const po::error& e) {
    throw_as_config_error(e);
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
// An empty name would silently write nothing: "none" says that on purpose.
void parse_output_files(const RawOptions& raw, CaseOptions& out) {
  out.output = raw.text("output", "results.h5");
  if (out.output.empty())
    throw ConfigError("output", "", "a results file name, or none to write no results file");
  if (out.output == "none") out.output.clear();
  if (!out.output.empty()) check_results_file_usable(out.output);
  out.trace = raw.text("trace", "");
  if (raw.given("trace") && out.trace.empty())
    throw ConfigError("trace", "", "a JSON file name (leave out --trace for no timeline)");
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
  base.ring_size_option = parse_int("ring-size", raw.text("ring-size", "0"), 0);
  base.members = raw.text("members", "auto");
  base.sample_steps = parse_int("sample-steps", raw.text("sample-steps", "0"), 0);
  base.gpu = parse_int("gpu", raw.text("gpu", "-1"), -1);
  base.timeout_s = parse_real("timeout", raw.text("timeout", "600"), "seconds > 0");
  base.spec.kv_heads = parse_int("kv-heads", raw.text("kv-heads", "0"), 0);
  const std::string dtype = raw.text("dtype", "auto");
  base.spec.dtype = dtype == "auto" ? (base.device == DeviceKind::cuda ? DType::bf16 : DType::fp32)
                                    : parse_dtype(dtype);
  base.spec.softmax_scale = parse_real("softmax-scale", raw.text("softmax-scale", "0"),
                                       "a number >= 0 (0 = 1/sqrt(head-dim))");
  base.warmup = parse_int("warmup", raw.text("warmup", "1"), 0);
  base.iters = parse_int("iters", raw.text("iters", "5"), 1);
  base.check = parse_bool("check", raw.text("check", "false"));
  base.check_rows = parse_int("check-rows", raw.text("check-rows", "0"), 0);
  if (base.check_rows > 0) base.check = true;
  base.tolerance = parse_real("tolerance", raw.text("tolerance", "0"),
                              "a number >= 0 (0 = the dtype's default)");
  base.seed = parse_seed(raw.text("seed", "42"));
  base.dump_tensors = parse_bool("dump-tensors", raw.text("dump-tensors", "false"));

  const std::vector<std::int64_t> seq_lens = parse_seq_lens(raw);
  const BatchRule batch =
      parse_batch_rule(raw.text("batch", "1"), raw.text("tokens-per-step", "0"), seq_lens);
  const ScalingRequest scaling =
      parse_scaling(raw.list("ranks", "all"), raw.text("scaling", "both"), world_size);
  for (const auto seq_len : seq_lens)
    for (const auto& heads : raw.list("heads", "4"))
      for (const auto& dim : raw.list("head-dim", "64"))
        for (const auto& mask : raw.spaced_list("mask", "none"))
          for (const auto& layout : raw.list("layout", "contiguous"))
            for (const auto& pass : raw.list("pass", "fwd"))
              for (const auto& scheme : raw.list("scheme", "ring"))
                for (const auto& kernel : raw.list("kernel", "auto")) {
                  BenchmarkCase c = base;
                  c.spec.seq_len = seq_len;
                  c.spec.batch = batch.batch_for(seq_len);
                  c.spec.heads = parse_count("heads", heads);
                  c.spec.head_dim = parse_count("head-dim", dim);
                  c.spec.mask = make_pattern(mask, seq_len)->spec();  // canonical
                  c.layout = parse_layout(layout);
                  c.pass = parse_pass(pass);
                  c.set_scheme(parse_scheme(scheme));
                  c.kernel = parse_kernel_option(kernel, c.device);
                  if (target.max_cases && out.cases.size() >= target.max_cases)
                    throw ConfigError("job",
                                      "(more than " + std::to_string(target.max_cases) + " cases)",
                                      "at most " + std::to_string(target.max_cases) + " cases");
                  add_placed_cases(c, scaling, world_size, out.cases, out.placements);
                }
}

// The tensors go into the results file; without one, --dump-tensors would do nothing.
void require_file_for_dumps(const CaseOptions& out) {
  if (!out.output.empty()) return;
  for (const auto& c : out.cases)
    if (c.dump_tensors)
      throw ConfigError("dump-tensors", "true",
                        "only with a results file (--output FILE, not none): the tensors are "
                        "stored there");
}

}  // namespace

CaseOptions parse_case_options(const std::vector<std::string>& args, int world_size,
                               const std::string& defaults_file) {
  return parse_case_options(args, ParseTarget{world_size, std::nullopt}, defaults_file);
}

CaseOptions parse_case_options(const std::vector<std::string>& args, const ParseTarget& target,
                               const std::string& defaults_file) {
  const RawOptions raw(gather_values(args, defaults_file));
  CaseOptions out;
  parse_output_files(raw, out);
  expand_cases(raw, target, out);
  require_file_for_dumps(out);
  return out;
}

CaseOptions parse_job_options(const std::string& ini_text, const ParseTarget& target) {
  const RawOptions raw(gather_job_values(ini_text));
  CaseOptions out;
  expand_cases(raw, target, out);
  return out;
}

}  // namespace ringbench
