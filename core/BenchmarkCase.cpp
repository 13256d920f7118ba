#include "core/BenchmarkCase.hpp"

#include <algorithm>
#include <sstream>

#include "core/Error.hpp"
#include "core/PatternSpec.hpp"

namespace ringbench {

std::string_view to_string(DeviceKind d) {
  return d == DeviceKind::cuda ? "cuda" : "cpu";
}

std::string_view to_string(KernelKind k) {
  switch (k) {
    case KernelKind::cpu:
      return "cpu";
    case KernelKind::flash:
      return "flash";
    case KernelKind::reference:
      return "reference";
    case KernelKind::cudnn:
      return "cudnn";
    case KernelKind::automatic:
      return "auto";
  }
  return "?";
}

KernelKind parse_kernel(std::string_view text, DeviceKind device) {
  if (text == "auto") return device == DeviceKind::cuda ? KernelKind::automatic : KernelKind::cpu;
  if (text == "cpu") return KernelKind::cpu;
  if (text == "flash") return KernelKind::flash;
  if (text == "cudnn") return KernelKind::cudnn;
  if (text == "reference") return KernelKind::reference;
  throw ConfigError("kernel", std::string(text), "auto, cpu, flash, cudnn, reference");
}

std::string_view to_string(PassKind p) {
  switch (p) {
    case PassKind::fwd:
      return "fwd";
    case PassKind::bwd:
      return "bwd";
    case PassKind::fwdbwd:
      return "fwdbwd";
  }
  return "?";
}

PassKind parse_pass(std::string_view text) {
  if (text == "fwd") return PassKind::fwd;
  if (text == "bwd") return PassKind::bwd;
  if (text == "fwdbwd") return PassKind::fwdbwd;
  throw ConfigError("pass", std::string(text), "fwd, bwd, fwdbwd");
}

std::string_view to_string(SchemeKind s) {
  switch (s) {
    case SchemeKind::ring:
      return "ring";
    case SchemeKind::allgather:
      return "allgather";
    case SchemeKind::allgather_pipelined:
      return "allgather-pipelined";
    case SchemeKind::ulysses:
      return "ulysses";
    case SchemeKind::hybrid:
      return "hybrid";
    case SchemeKind::doublering:
      return "doublering";
  }
  return "?";
}

SchemeChoice parse_scheme(std::string_view text) {
  for (SchemeKind s : {SchemeKind::ring, SchemeKind::allgather, SchemeKind::allgather_pipelined,
                       SchemeKind::ulysses})
    if (text == to_string(s)) return {s, 0, 0};
  const std::string allowed =
      "ring, allgather, allgather-pipelined, ulysses, hybrid:UxR (U ranks per Ulysses group, R "
      "groups in the ring, U and R positive), doublering:I (inner rings of I ranks, I positive)";
  auto count = [&](const std::string& digits) {
    if (digits.empty() || digits.size() > 6 ||
        digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) <= 0)
      throw ConfigError("scheme", std::string(text), allowed);
    return std::stoi(digits);
  };
  if (const std::string_view d = "doublering:"; text.starts_with(d))
    return {SchemeKind::doublering, count(std::string(text.substr(d.size()))), 0};
  const std::string_view prefix = "hybrid:";
  if (!text.starts_with(prefix)) throw ConfigError("scheme", std::string(text), allowed);
  const std::string sizes(text.substr(prefix.size()));
  const std::size_t x = sizes.find('x');
  if (x == std::string::npos) throw ConfigError("scheme", std::string(text), allowed);
  return {SchemeKind::hybrid, count(sizes.substr(0, x)), count(sizes.substr(x + 1))};
}

std::string BenchmarkCase::scheme_text() const {
  if (scheme == SchemeKind::doublering) return "doublering:" + std::to_string(scheme_group_ranks);
  if (scheme != SchemeKind::hybrid) return std::string(to_string(scheme));
  return "hybrid:" + std::to_string(scheme_group_ranks) + "x" + std::to_string(scheme_groups);
}

double default_tolerance(DType t) {
  switch (t) {
    case DType::fp32:
      return 1e-5;
    case DType::bf16:
      return 1e-2;
    case DType::fp16:
      return 5e-3;
  }
  return 1e-5;
}

double BenchmarkCase::effective_tolerance() const {
  return tolerance > 0.0 ? tolerance : default_tolerance(spec.dtype);
}

namespace {
std::string number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}
}  // namespace

MemberChoice parse_members(const std::string& text, int ring_size) {
  if (text == "auto") return {};
  if (text == "all") return {MemberChoice::Kind::all, {}};
  const std::string allowed =
      "auto, all, or member indices 0 to " + std::to_string(ring_size - 1) + " separated by commas";
  MemberChoice m{MemberChoice::Kind::listed, {}};
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    std::size_t used = 0;
    int member = -1;
    try {
      member = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || member < 0 || member >= ring_size)
      throw ConfigError("members", text, allowed);
    m.listed.push_back(member);
  }
  if (m.listed.empty() || text.back() == ',') throw ConfigError("members", text, allowed);
  std::sort(m.listed.begin(), m.listed.end());
  m.listed.erase(std::unique(m.listed.begin(), m.listed.end()), m.listed.end());
  return m;
}

std::string to_string(const MemberChoice& m) {
  if (m.kind == MemberChoice::Kind::automatic) return "auto";
  if (m.kind == MemberChoice::Kind::all) return "all";
  std::string text;
  for (int member : m.listed) text += (text.empty() ? "" : ",") + std::to_string(member);
  return text;
}

std::vector<std::pair<std::string, std::string>> BenchmarkCase::entries() const {
  return {
      {"batch", std::to_string(spec.batch)},
      {"heads", std::to_string(spec.heads)},
      {"kv-heads", std::to_string(spec.effective_kv_heads())},
      {"head-dim", std::to_string(spec.head_dim)},
      {"seq-len", std::to_string(spec.seq_len)},
      {"dtype", std::string(to_string(spec.dtype))},
      {"mask", spec.mask},
      {"softmax-scale", number(spec.scale())},
      {"layout", std::string(to_string(layout))},
      {"device", std::string(to_string(device))},
      {"kernel", std::string(to_string(kernel))},
      {"pass", std::string(to_string(pass))},
      {"scheme", scheme_text()},
      {"virtual-ranks", std::to_string(virtual_ranks)},
      {"ring-size", std::to_string(ring_size_option)},
      {"members", members},
      {"sample-steps", std::to_string(sample_steps)},
      {"gpu", std::to_string(gpu)},
      {"timeout", number(timeout_s)},
      {"warmup", std::to_string(warmup)},
      {"iters", std::to_string(iters)},
      {"check", check ? "true" : "false"},
      {"check-rows", std::to_string(check_rows)},
      {"tolerance", number(effective_tolerance())},
      {"seed", std::to_string(seed)},
      {"dump-tensors", dump_tensors ? "true" : "false"},
  };
}

std::string BenchmarkCase::canonical() const {
  std::string text;
  for (const auto& [k, v] : entries()) text += k + " = " + v + "\n";
  return text;
}

namespace {
void validate_device(const BenchmarkCase& c) {
  const bool on_gpu = c.device == DeviceKind::cuda;
  if (on_gpu == (c.kernel == KernelKind::cpu))
    throw ConfigError("kernel", std::string(to_string(c.kernel)),
                      on_gpu ? "auto, flash, cudnn or reference with device cuda"
                             : "cpu or auto with device cpu");
  if (on_gpu && c.spec.dtype == DType::fp32)
    throw ConfigError("dtype", "fp32", "bf16 or fp16 on device cuda (or auto)");
  if ((c.kernel == KernelKind::flash || c.kernel == KernelKind::automatic) &&
      c.spec.head_dim != 64 && c.spec.head_dim != 128)
    throw ConfigError("head-dim", std::to_string(c.spec.head_dim),
                      "64 or 128 with kernel flash (and auto)");
  if (c.kernel == KernelKind::cudnn && (c.spec.head_dim % 8 != 0 || c.spec.head_dim > 256))
    throw ConfigError("head-dim", std::to_string(c.spec.head_dim),
                      "a multiple of 8 up to 256 with kernel cudnn");
  if (c.kernel == KernelKind::reference && c.spec.head_dim > 256)
    throw ConfigError("head-dim", std::to_string(c.spec.head_dim),
                      "at most 256 with kernel reference");
  // The own GPU kernels take every pattern both ways: those they test per pair from positions
  // (MaskTerms), and dilated ones of several pairs or rates as gathered pairs; cuDNN dense ones.
  const auto pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  if (on_gpu && !pattern->dense_kind() && c.kernel == KernelKind::cudnn)
    throw ConfigError("kernel", "cudnn", "flash, reference or auto with mask " + c.spec.mask);
  // cuDNN takes dense or causal-diagonal rectangles; a striped causal step is neither
  if (c.kernel == KernelKind::cudnn && c.layout == LayoutKind::striped && c.spec.mask == "causal")
    throw ConfigError("layout", "striped",
                      "contiguous or zigzag with kernel cudnn and mask causal");
}
}  // namespace

namespace {
// Dilated pairs on the GPU gather whole rows: every rank's runs of positions start and end on a
// multiple of every dilation rate (their least common multiple, the pattern's head period).
void validate_gathered_rows(const BenchmarkCase& c, const SequenceLayout& layout) {
  const auto pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  if (c.device != DeviceKind::cuda || pattern->mask_terms()) return;
  const std::int64_t period = pattern->head_period();
  if (c.layout == LayoutKind::striped)
    throw ConfigError("layout", "striped",
                      "contiguous or zigzag with mask " + c.spec.mask +
                          " on device cuda (dilated rows are gathered from whole runs)");
  for (int r = 0; r < layout.ranks(); ++r)
    for (const PositionRun& run : layout.runs(r))
      if (run.global_start % period != 0 || run.length % period != 0)
        throw ConfigError("seq-len", std::to_string(c.spec.seq_len),
                          "a length whose shards of " + std::string(to_string(c.layout)) +
                              " are whole multiples of " + std::to_string(period) +
                              " (the dilation rates) with mask " + c.spec.mask + " on device cuda");
}
}  // namespace

namespace {
// An emulated ring (--ring-size above the ranks) plays members of a larger ring in turn: its
// forward is measured, and its outputs checked on sampled rows or whole per member.
// Ulysses shards the heads over its group (every rank; hybrid:UxR's U ranks): the group's size
// must divide them, and a rank's query heads must share whole kv heads or lie inside one (then it
// is replicated to the ranks that share it). A hybrid's groups form the ring of R members, each
// holding what one rank of an R-rank layout of the same kind holds (contiguous and zigzag only).
void validate_head_sharding(const BenchmarkCase& c, int P) {
  const std::string scheme = c.scheme_text();
  if (c.device != DeviceKind::cpu && c.virtual_ranks <= 1 && P > 1)
    throw ConfigError("scheme", scheme,
                      "ring, allgather or allgather-pipelined across GPUs (" + scheme +
                          " runs on CPU ranks and on the virtual ranks of one GPU; its NCCL "
                          "all-to-all between GPUs is not built yet)");
  if (c.scheme == SchemeKind::hybrid && c.scheme_group_ranks * c.scheme_groups != P)
    throw ConfigError("scheme", scheme,
                      "hybrid:UxR with U x R = the ring's " + std::to_string(P) +
                          " ranks (U ranks per Ulysses group, R groups in the ring)");
  const int U = c.head_group_ranks(P);
  if (c.scheme == SchemeKind::hybrid && c.scheme_groups > 1 && c.layout == LayoutKind::striped)
    throw ConfigError("layout", "striped",
                      "contiguous or zigzag with scheme " + scheme +
                          " (a group of consecutive ranks must hold one shard of the R-member "
                          "ring; striped groups do not)");
  const std::int64_t H = c.spec.heads, group = H / c.spec.effective_kv_heads();
  if (H % U != 0)
    throw ConfigError(
        "heads", std::to_string(H),
        "a multiple of the " + std::to_string(U) + " ranks of a group with scheme " + scheme);
  const std::int64_t per_rank = H / U;
  if (per_rank % group != 0 && group % per_rank != 0)
    throw ConfigError("kv-heads", std::to_string(c.spec.effective_kv_heads()),
                      "kv heads whose groups of " + std::to_string(group) +
                          " query heads divide or are divided by the " + std::to_string(per_rank) +
                          " heads per rank (scheme " + scheme + ")");
  if (make_pattern(c.spec.mask, c.spec.seq_len)->head_period() != 1)
    throw ConfigError("mask", c.spec.mask,
                      "a pattern the same in every head with scheme " + scheme +
                          " (a rank attends its own heads only; dilated offsets depend on the "
                          "head)");
}

// The double ring's inner rings are I consecutive ranks of the ring; its outer ring links the
// ranks at the same place of every inner ring. Its two links between GPUs are not built.
void validate_double_ring(const BenchmarkCase& c, int P) {
  const std::string scheme = c.scheme_text();
  if (P % c.scheme_group_ranks != 0)
    throw ConfigError("scheme", scheme,
                      "doublering:I with I dividing the ring's " + std::to_string(P) +
                          " ranks (I consecutive ranks per inner ring)");
  if (c.device != DeviceKind::cpu && c.virtual_ranks <= 1 && P > 1)
    throw ConfigError("scheme", scheme,
                      "ring, allgather or allgather-pipelined across GPUs (" + scheme +
                          " runs on CPU ranks and on the virtual ranks of one GPU; its inner and "
                          "outer NCCL rings between GPUs are not built yet)");
}

// The gathering schemes hold every K/V block of a resident ring and run the forward pass.
void validate_scheme(const BenchmarkCase& c, int world_size) {
  if (c.scheme == SchemeKind::ring) return;
  const std::string scheme = c.scheme_text();
  if (c.emulated(world_size))
    throw ConfigError("scheme", scheme,
                      "ring with an emulated ring (--ring-size above the ranks): a gather holds "
                      "every member's block");
  if (shards_heads(c.scheme)) validate_head_sharding(c, c.ring_size(world_size));
  if (c.scheme == SchemeKind::doublering) validate_double_ring(c, c.ring_size(world_size));
}

void validate_emulation(const BenchmarkCase& c, int world_size) {
  const std::string size = std::to_string(c.ring_size_option);
  if (c.ring_size_option < 0 || (c.ring_size_option > 0 && c.ring_size_option < world_size))
    throw ConfigError(
        "ring-size", size,
        "0 (the ranks) or a ring of at least the ranks (" + std::to_string(world_size) + ")");
  if (c.ring_size_option > 0 && c.virtual_ranks > 1 && c.ring_size_option != c.virtual_ranks)
    throw ConfigError("ring-size", size,
                      "0 or the virtual ranks (" + std::to_string(c.virtual_ranks) +
                          ") with --virtual-ranks: a resident ring in one process");
  const bool emulated = c.emulated(world_size);
  const std::string why =
      " (an emulated ring: --ring-size above the ranks, " + std::to_string(world_size) + ")";
  if (!emulated && c.members != "auto")
    throw ConfigError("members", c.members, "auto unless the ring is emulated" + why);
  if (c.sample_steps < 0 || c.sample_steps > c.ring_size(world_size) ||
      (!emulated && c.sample_steps != 0))
    throw ConfigError(
        "sample-steps", std::to_string(c.sample_steps),
        emulated ? "0 (every step) or 1 to the ring size " + std::to_string(c.ring_size(world_size))
                 : "0 unless the ring is emulated" + why);
  if (!emulated) return;
  if (has_backward(c.pass))
    throw ConfigError("pass", std::string(to_string(c.pass)),
                      "fwd in an emulated ring (its backward is not built)" + why);
  if (c.dump_tensors) throw ConfigError("dump-tensors", "true", "false in an emulated ring" + why);
  if (c.kernel == KernelKind::cudnn)
    throw ConfigError("kernel", "cudnn",
                      "flash, reference or auto in an emulated ring (one backend plays several "
                      "members; cuDNN's graphs are built for one)" +
                          why);
  if (c.check && c.sample_steps > 0)
    throw ConfigError("check", "true",
                      "false with --sample-steps: the sampled steps leave the outputs partial");
  parse_members(c.members, c.ring_size(world_size));  // a bad list
}
}  // namespace

void validate(const BenchmarkCase& c, int world_size) {
  validate(c.spec);
  validate_device(c);
  if (c.virtual_ranks < 0)
    throw ConfigError("virtual-ranks", std::to_string(c.virtual_ranks), "0 (off) or a ring size");
  if (c.virtual_ranks > 1 && world_size != 1)
    throw ConfigError(
        "virtual-ranks", std::to_string(c.virtual_ranks),
        "only in a one-rank run (this run has " + std::to_string(world_size) + " ranks)");
  if (!(c.timeout_s > 0)) throw ConfigError("timeout", number(c.timeout_s), "seconds > 0");
  validate_emulation(c, world_size);
  validate_scheme(c, world_size);
  const SequenceLayout layout(c.layout, c.spec.seq_len, c.ring_size(world_size));  // bad seq-len
  validate_gathered_rows(c, layout);
  if (c.warmup < 0) throw ConfigError("warmup", std::to_string(c.warmup), "0 or more");
  if (c.check_rows < 0 || c.check_rows > c.spec.seq_len)
    throw ConfigError("check-rows", std::to_string(c.check_rows),
                      "0 (check every row) or a number of query rows up to seq-len " +
                          std::to_string(c.spec.seq_len));
  if (c.iters <= 0) throw ConfigError("iters", std::to_string(c.iters), "1 or more");
  if (!(c.tolerance >= 0.0))
    throw ConfigError("tolerance", number(c.tolerance),
                      "a positive number, or 0 for the dtype's default");
  const double dumped = double(c.spec.batch) * double(c.spec.heads) * double(c.spec.seq_len) *
                        double(c.spec.head_dim);
  if (c.dump_tensors && dumped > kMaxDumpedValues)
    throw ConfigError("dump-tensors", "true",
                      "only for problems of at most " + std::to_string(kMaxDumpedValues) +
                          " values per tensor (batch*heads*seq-len*head-dim is " + number(dumped) +
                          ")");
}

}  // namespace ringbench
