#include "apps/ResultTable.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace ringbench {

namespace {
std::string config_value(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return v;
  return "?";
}
double summary_value(const RunRecord& run, const std::string& key) {
  auto it = run.summary.find(key);
  return it == run.summary.end() ? 0.0 : it->second;
}
// The lowest SM clock any rank had at the end of the run: long runs slow down when the GPU
// reaches its power limit, and this column shows it where the numbers fall.
std::string end_clock(const RunRecord& run) {
  auto it = run.telemetry.find("sm_clock_mhz");
  if (it == run.telemetry.end() || it->second.size() < 2) return "-";
  double lowest = it->second[1];
  for (std::size_t r = 1; r < it->second.size(); r += 2) lowest = std::min(lowest, it->second[r]);
  return std::to_string(static_cast<int>(lowest));
}
// Joules per TFLOP of the run's work, from the GPUs' energy counters; "-" without one (CPU).
std::string joules_per_tflop(const RunRecord& run) {
  auto it = run.summary.find("joules_per_tflop");
  if (it == run.summary.end()) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.3g", it->second);
  return text;
}
}  // namespace

// The kernels of the timed passes: what `auto` picked, else what was asked for; "fwd+bwd" where
// a forward-and-backward run used two.
std::string kernel_of(const RunRecord& run) {
  auto it = run.provenance.find("kernel_selected");
  const std::string forward = it != run.provenance.end() ? it->second : config_value(run, "kernel");
  it = run.provenance.find("backward_kernel_selected");
  if (it == run.provenance.end()) return forward;
  const std::string& backward = it->second;
  if (config_value(run, "pass") == "bwd" || backward == forward) return backward;
  return forward + "+" + backward;
}
// A pass's median time (the slowest rank per iteration), or "-" when the run did not time it.
std::string pass_ms(const RunRecord& run, const std::string& prefix) {
  auto it = run.summary.find(prefix + "median_ms");
  if (it == run.summary.end()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", it->second);
  return text;
}
// The largest relative error of dQ, dK and dV, when the check compared gradients.
std::string gradient_error(const RunRecord& run) {
  if (!run.check || !run.check->gradients) return "n/a";
  const GradientErrors& g = *run.check->gradients;
  char text[16];
  std::snprintf(text, sizeof text, "%.2e", std::max({g.dq_rel_err, g.dk_rel_err, g.dv_rel_err}));
  return text;
}

// The world column: the ranks, or an emulated ring's size marked "e" (never read as resident).
std::string world_of(const RunRecord& run) {
  if (summary_value(run, "emulated") == 0) return std::to_string(run.world_size);
  return std::to_string(static_cast<long long>(summary_value(run, "ring_size"))) + "e";
}

// Under an emulated run's row: what was played and measured, and what was generated.
// A gathering scheme's row: what it is, and its traffic beside the formula it follows (every rank
// receives the P - 1 other blocks of K and V).
void print_scheme_note(std::FILE* out, const RunRecord& run) {
  const std::string scheme = config_value(run, "scheme");
  if (scheme != "allgather" && scheme != "allgather-pipelined") return;
  const double P = summary_value(run, "ring_size") > 0 ? summary_value(run, "ring_size")
                                                       : static_cast<double>(run.world_size);
  const double block = summary_value(run, "kv_block_bytes");
  std::fprintf(out,
               "#   scheme %s: every K/V block passed round the ring and kept%s; sent per rank "
               "%.4g bytes, formula (P - 1) x block = %.0f x %.4g = %.4g\n",
               scheme.c_str(),
               scheme == "allgather" ? ", all of it before the other blocks' attention"
                                     : ", each attended as soon as it lands",
               summary_value(run, "bytes_sent_per_rank"), P - 1, block, (P - 1) * block);
}

// A head-sharding scheme's row: its traffic beside the formula it follows, per rank. The
// all-to-alls inside a group of U ranks (every rank for ulysses): (U - 1)/U of the rank's Q, K, V
// (kv heads replicated to the ranks that share one) in the input type, and of O and LSE in fp32
// back; the backward's dO in the input type, dQ, dK, dV in fp32 back. A hybrid's ring across its
// R groups adds a dense ring's blocks of the rank's kv heads over a group's tokens: R - 1 of K, V
// forward; backward R - 1 of K, V, dK, dV and dK, dV twice (the last step and the hop home).
void print_head_sharded_note(std::FILE* out, const RunRecord& run) {
  const std::string scheme = config_value(run, "scheme");
  const bool hybrid = scheme.starts_with("hybrid:");
  if (scheme != "ulysses" && !hybrid) return;
  const double P = summary_value(run, "ring_size") > 0 ? summary_value(run, "ring_size")
                                                       : static_cast<double>(run.world_size);
  const double U = hybrid ? std::stod(scheme.substr(7)) : P, R = P / U;
  const double S = std::stod(config_value(run, "seq-len"));
  const double B = std::stod(config_value(run, "batch")), H = std::stod(config_value(run, "heads"));
  const double Hkv = std::stod(config_value(run, "kv-heads")),
               D = std::stod(config_value(run, "head-dim"));
  const std::string pass = config_value(run, "pass");
  const bool forward = pass != "bwd", backward = pass != "fwd";
  const double n = S / P, group = H / Hkv, rank_kv = std::max(1.0, std::floor(H / U / group));
  const double sent_kv = U * rank_kv;
  const double e = summary_value(run, "kv_block_bytes") / (2 * B * Hkv * n * D);
  const double fwd = (H + 2 * sent_kv) * D * e + H * (D + 1) * 4;
  const double bwd = H * D * e + (H + 2 * sent_kv) * D * 4;
  const double exchanged = (U - 1) / U * B * n * ((forward ? fwd : 0) + (backward ? bwd : 0));
  const double kv = 2 * B * rank_kv * (S / R) * D, ring_fwd = (R - 1) * kv * e;
  const double ring_bwd = R > 1 ? (R - 1) * kv * (e + 4) + 2 * kv * 4 : 0;
  const double ring = (forward ? ring_fwd : 0) + (backward ? ring_bwd : 0);
  std::fprintf(out,
               "#   scheme %s: all-to-all to head shards (%g heads per rank over %s) and back; "
               "sent per rank %.4g bytes, formula (U-1)/U * B * S/P * (%s%s%s)%s = %.4g (U = %g, "
               "e = %g B, kv' = %g)\n",
               scheme.c_str(), H / U,
               hybrid ? "its group's tokens, a ring across the groups" : "every token",
               summary_value(run, "bytes_sent_per_rank"),
               forward ? "fwd: (H + 2 kv') D e + H (D+1) 4" : "", forward && backward ? " + " : "",
               backward ? "bwd: H D e + (H + 2 kv') D 4" : "",
               hybrid ? " + the dense ring of R groups on blocks 2 B kv'/U S/R D" : "",
               exchanged + ring, U, e, sent_kv);
}

// A double ring's row: its traffic beside the formula it follows, per rank, split by ring. Forward:
// O (I - 1) blocks on the inner rings and O - 1 on the outer ring, P - 1 as the ring. Backward:
// each inner ring of I > 1 sends I - 1 blocks with their dK/dV accumulators and the accumulators
// twice (the last step, the hop to the outer step's first holder); the outer ring O - 1 blocks
// (K, V only) and, with O > 1, O dK/dV sums (one outer step behind, the last one home).
void print_double_ring_note(std::FILE* out, const RunRecord& run) {
  const std::string scheme = config_value(run, "scheme");
  if (!scheme.starts_with("doublering:")) return;
  const double P = summary_value(run, "ring_size") > 0 ? summary_value(run, "ring_size")
                                                       : static_cast<double>(run.world_size);
  const double I = std::stod(scheme.substr(11)), O = P / I;
  const double kv = summary_value(run, "kv_block_bytes");
  const double dkv =
      2 * std::stod(config_value(run, "batch")) * std::stod(config_value(run, "kv-heads")) *
      (std::stod(config_value(run, "seq-len")) / P) * std::stod(config_value(run, "head-dim")) * 4;
  const std::string pass = config_value(run, "pass");
  const bool forward = pass != "bwd", backward = pass != "fwd";
  const double inner = (forward ? O * (I - 1) * kv : 0) +
                       (backward && I > 1 ? O * ((I - 1) * (kv + dkv) + 2 * dkv) : 0);
  const double outer = (forward ? (O - 1) * kv : 0) + (backward ? (O - 1) * kv : 0) +
                       (backward && O > 1 ? O * dkv : 0);
  std::fprintf(out,
               "#   scheme %s: inner rings of %g ranks in an outer ring of %g; sent per rank "
               "%.4g bytes, formula inner %s%s%s = %.4g + outer %s%s%s = %.4g, total %.4g "
               "(block %.4g B, dK/dV %.4g B)\n",
               scheme.c_str(), I, O, summary_value(run, "bytes_sent_per_rank"),
               forward ? "O(I-1) block" : "", forward && backward ? " + " : "",
               backward ? "O((I-1)(block + dkv) + 2 dkv)" : "", inner, forward ? "(O-1) block" : "",
               forward && backward ? " + " : "", backward ? "(O-1) block + O dkv" : "", outer,
               inner + outer, kv, dkv);
}

void print_emulation_note(std::FILE* out, const RunRecord& run) {
  if (summary_value(run, "emulated") == 0) return;
  std::set<int> played;
  for (const RankInfo& r : run.ranks) played.insert(r.rank);
  std::string members;
  for (int m : played) {
    if (members.size() > 60) {
      members += " ...";
      break;
    }
    if (!members.empty()) members += ' ';
    members += std::to_string(m);
  }
  std::fprintf(out,
               "#   emulated ring of %lld members: %zu played (%s) on %lld rank(s); the K/V "
               "blocks of the others generated, the real link moving the same bytes\n",
               static_cast<long long>(summary_value(run, "ring_size")), played.size(),
               members.c_str(), static_cast<long long>(summary_value(run, "real_ranks")));
  if (summary_value(run, "sampled_steps") > 0)
    std::fprintf(out,
                 "#   sampled: %lld of %lld steps run and timed, the others counted at their "
                 "mean (times projected)\n",
                 static_cast<long long>(summary_value(run, "sampled_steps")),
                 static_cast<long long>(summary_value(run, "ring_steps")));
  std::fprintf(out, "#   one device, every member played once: %.1f ms, %.4g TFLOP/s\n",
               summary_value(run, "one_gpu_total_ms"), summary_value(run, "one_gpu_tflops"));
}

void print_table_header(std::FILE* out) {
  std::fprintf(
      out,
      "#%10s %5s %7s %4s %6s %7s %10s %9s %6s %9s %9s %9s %9s %9s %9s %11s %9s %7s %8s %5s %6s "
      "%9s %9s\n",
      "seq", "world", "heads", "hdim", "mask", "density", "layout", "kernel", "pass", "min_ms",
      "med_ms", "max_ms", "fwd_ms", "bwd_ms", "TFLOP/s", "tokens/s", "comm_ms", "exp%", "GB/s",
      "MHz", "J/TF", "grad_err", "rel_err");
  std::fprintf(
      out,
      "#%10s %5s %7s %4s %6s %7s %10s %9s %6s %9s %9s %9s %9s %9s %9s %11s %9s %7s %8s %5s %6s "
      "%9s %9s\n",
      "", "", "(q/kv)", "", "", "(pairs)", "", "", "", "(ranks)", "(ranks)", "(ranks)", "(median)",
      "(median)", "(/rank)", "", "", "", "", "(end)", "(NVML)", "(max)", "");
}

void print_table_row(std::FILE* out, const RunRecord& run) {
  const std::string heads = config_value(run, "heads") + "/" + config_value(run, "kv-heads");
  char err[16] = "n/a";
  if (run.check) std::snprintf(err, sizeof err, "%.2e", run.check->rel_err);
  std::fprintf(
      out,
      " %10s %5s %7s %4s %6s %7.4f %10s %9s %6s %9.3f %9.3f %9.3f %9s %9s %9.4f %11.4g %9.3f "
      "%7.2f %8.3f %5s %6s %9s %9s\n",
      config_value(run, "seq-len").c_str(), world_of(run).c_str(), heads.c_str(),
      config_value(run, "head-dim").c_str(), config_value(run, "mask").c_str(),
      summary_value(run, "density"), config_value(run, "layout").c_str(), kernel_of(run).c_str(),
      config_value(run, "pass").c_str(), summary_value(run, "rank_min_ms"),
      summary_value(run, "rank_median_ms"), summary_value(run, "rank_max_ms"),
      pass_ms(run, "fwd_").c_str(), pass_ms(run, "bwd_").c_str(),
      summary_value(run, "tflops_per_rank"), summary_value(run, "tokens_per_s"),
      summary_value(run, "comm_ms"), 100.0 * summary_value(run, "exposed_comm_fraction"),
      summary_value(run, "achieved_GBps"), end_clock(run).c_str(), joules_per_tflop(run).c_str(),
      gradient_error(run).c_str(), err);
  print_emulation_note(out, run);
  print_scheme_note(out, run);
  print_head_sharded_note(out, run);
  print_double_ring_note(out, run);
  std::fflush(out);
}

}  // namespace ringbench
