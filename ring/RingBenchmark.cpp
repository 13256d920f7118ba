#include "ring/RingBenchmark.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <thread>

#include "core/Error.hpp"
#include "core/FlopCount.hpp"
#include "core/InputGenerator.hpp"
#include "core/ReferenceAttention.hpp"
#include "core/RunSummary.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MpiCheck.hpp"
#include "ring/Provenance.hpp"
#include "ring/RingAttention.hpp"
#include "ring/cpu/CpuBackend.hpp"

namespace ringbench {

namespace {

std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

// Every rank learns whether every rank fits, so all refuse together with the same message.
void refuse_unless_all_fit(const MpiRuntime& rt, double needed, double available) {
  const bool fits = needed <= available;
  const double worst_available = -max_all(rt.world(), -available);
  if (!all_true(rt.world(), fits))
    throw ConfigError("seq-len", "(this case)",
                      "a case that fits: each rank needs " + gib(needed) + ", a rank has " +
                          gib(worst_available) + " free");
}

double available_host_bytes() {
  return static_cast<double>(::sysconf(_SC_AVPHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

struct HostInputs {
  std::vector<float> q, k, v;
};

HostInputs generate_inputs(const BenchmarkCase& c, std::span<const std::int64_t> positions) {
  const ProblemSpec& s = c.spec;
  const auto n = static_cast<std::int64_t>(positions.size());
  HostInputs in{std::vector<float>(s.batch * s.heads * n * s.head_dim),
                std::vector<float>(s.batch * s.effective_kv_heads() * n * s.head_dim),
                std::vector<float>(s.batch * s.effective_kv_heads() * n * s.head_dim)};
  generate_tensor(TensorRole::q, c.seed, s, positions, in.q);
  generate_tensor(TensorRole::k, c.seed, s, positions, in.k);
  generate_tensor(TensorRole::v, c.seed, s, positions, in.v);
  return in;
}

// Compares this rank's rows with the float64 reference over the whole key sequence; the error
// norms are reduced over ranks so every rank holds the global result.
CheckResult check_against_reference(const BenchmarkCase& c, const MpiRuntime& rt,
                                     const HostInputs& local, std::span<const std::int64_t> positions,
                                     const AttentionResult& got) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(all.begin(), all.end(), 0);
  const HostInputs global = generate_inputs(c, all);
  const AttentionResult ref = reference_attention(c.spec, local.q, positions, global.k, global.v, all);
  double diff2 = 0, ref2 = 0, max_abs = 0, lse_max = 0;
  for (std::size_t i = 0; i < ref.o.size(); ++i) {
    const double d = double(got.o[i]) - double(ref.o[i]);
    diff2 += d * d;
    ref2 += double(ref.o[i]) * double(ref.o[i]);
    max_abs = std::max(max_abs, std::abs(d));
  }
  for (std::size_t i = 0; i < ref.lse.size(); ++i)
    if (std::isfinite(ref.lse[i]))
      lse_max = std::max(lse_max, std::abs(double(got.lse[i]) - double(ref.lse[i])));
    else if (std::isfinite(got.lse[i]))
      lse_max = INFINITY;
  CheckResult r;
  const double diff_all = sum_all(rt.world(), diff2), ref_all = sum_all(rt.world(), ref2);
  r.rel_err = ref_all > 0 ? std::sqrt(diff_all / ref_all) : std::sqrt(diff_all);
  r.max_abs_err = max_all(rt.world(), max_abs);
  r.lse_max_abs_err = max_all(rt.world(), lse_max);
  r.tolerance = c.effective_tolerance();
  r.passed = std::isfinite(r.rel_err) && r.rel_err <= r.tolerance && std::isfinite(r.lse_max_abs_err);
  return r;
}

// Global tensors in token order for --dump-tensors: rank 0 regenerates Q, K, V and places the
// gathered O and LSE rows by the layout.
std::vector<TensorDump> dump_tensors(const BenchmarkCase& c, const MpiRuntime& rt,
                                     const SequenceLayout& layout, const AttentionResult& got) {
  const std::vector<float> o = gather(rt.world(), std::span<const float>(got.o));
  const std::vector<float> lse = gather(rt.world(), std::span<const float>(got.lse));
  if (!rt.is_root()) return {};
  const ProblemSpec& s = c.spec;
  const auto S = static_cast<std::uint64_t>(s.seq_len), D = static_cast<std::uint64_t>(s.head_dim);
  const auto B = static_cast<std::uint64_t>(s.batch), H = static_cast<std::uint64_t>(s.heads),
             Hkv = static_cast<std::uint64_t>(s.effective_kv_heads());
  std::vector<std::int64_t> all(S);
  std::iota(all.begin(), all.end(), 0);
  HostInputs global = generate_inputs(c, all);
  std::vector<float> o_global(o.size()), lse_global(lse.size());
  const std::int64_t n = layout.local_len();
  for (int r = 0; r < layout.ranks(); ++r) {
    const auto pos = layout.positions(r);
    for (std::uint64_t bh = 0; bh < B * H; ++bh)
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint64_t src = (static_cast<std::uint64_t>(r) * B * H + bh) * n + i;
        const std::uint64_t dst = bh * S + static_cast<std::uint64_t>(pos[i]);
        lse_global[dst] = lse[src];
        std::copy_n(o.begin() + src * D, D, o_global.begin() + dst * D);
      }
  }
  return {{"Q", {B, H, S, D}, std::move(global.q)},
          {"K", {B, Hkv, S, D}, std::move(global.k)},
          {"V", {B, Hkv, S, D}, std::move(global.v)},
          {"O", {B, H, S, D}, std::move(o_global)},
          {"LSE", {B, H, S}, std::move(lse_global)}};
}

std::vector<double> flatten(const std::vector<IterationTiming>& its,
                            std::vector<double> IterationTiming::*field) {
  std::vector<double> out;
  for (const auto& t : its) out.insert(out.end(), (t.*field).begin(), (t.*field).end());
  return out;
}

// [iterations][steps] on each rank -> [iterations][ranks][steps] on rank 0.
std::vector<double> gather_cube(const MpiRuntime& rt, const std::vector<double>& local, int iters, int steps) {
  const std::vector<double> by_rank = gather(rt.world(), std::span<const double>(local));
  std::vector<double> cube(by_rank.size());
  const int R = rt.size();
  for (int r = 0; rt.is_root() && r < R; ++r)
    for (int i = 0; i < iters; ++i)
      std::copy_n(by_rank.begin() + (static_cast<std::ptrdiff_t>(r) * iters + i) * steps, steps,
                  cube.begin() + (static_cast<std::ptrdiff_t>(i) * R + r) * steps);
  return cube;
}

std::vector<RankInfo> gather_ranks(const MpiRuntime& rt, const RankBackend& backend) {
  const auto hosts = gather(rt.world(), rt.hostname());
  const auto devices = gather(rt.world(), backend.device_name());
  const auto buses = gather(rt.world(), backend.pci_bus_id());
  const std::vector<double> local{double(rt.local_rank())};
  const auto locals = gather(rt.world(), std::span<const double>(local));
  std::vector<RankInfo> ranks;
  for (int r = 0; rt.is_root() && r < rt.size(); ++r)
    ranks.push_back({r, hosts[r], static_cast<int>(locals[r]), devices[r], buses[r]});
  return ranks;
}

// RINGBENCH_INJECT_FAULT=<rank>: that rank fails after its first iteration. The tests use it to
// show that a failing rank brings the whole job down in bounded time instead of hanging it.
void maybe_inject_fault(const MpiRuntime& rt, int iteration) {
  const char* target = std::getenv("RINGBENCH_INJECT_FAULT");
  if (target && iteration == 1 && std::atoi(target) == rt.rank())
    throw std::runtime_error("injected fault (RINGBENCH_INJECT_FAULT=" + std::string(target) + ")");
}

}  // namespace

std::unique_ptr<RankBackend> make_backend(const BenchmarkCase& c, const SequenceLayout& layout,
                                          const MpiRuntime& rt) {
  if (c.device != DeviceKind::cpu)
    throw ConfigError("device", std::string(to_string(c.device)), "cpu (this build has no CUDA backend)");
  const double needed = static_cast<double>(cpu_rank_bytes(c.spec, layout.local_len()));
  // ranks on one node share its memory
  refuse_unless_all_fit(rt, needed, available_host_bytes() / rt.local_size());
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuBackend>(c.spec, layout.local_len(), rt.world(),
                                      std::max(1, cores / rt.local_size()));
}

BenchmarkOutcome run_ring_benchmark(const BenchmarkCase& c, const MpiRuntime& rt) {
  const SequenceLayout layout(c.layout, c.spec.seq_len, rt.size());
  const RingSchedule schedule(layout, rt.rank(), make_pattern(c.spec.mask));
  std::unique_ptr<RankBackend> backend = make_backend(c, layout, rt);

  const std::vector<std::int64_t> positions = layout.positions(rt.rank());
  HostInputs inputs = generate_inputs(c, positions);
  backend->load_inputs(inputs.q, inputs.k, inputs.v);

  std::vector<IterationTiming> timed;
  for (int it = 0; it < c.warmup + c.iters; ++it) {
    maybe_inject_fault(rt, it);
    RINGBENCH_CHECK_MPI(MPI_Barrier(rt.world()));  // start every iteration together
    IterationTiming t = ring_attention_forward(schedule, *backend);
    if (it >= c.warmup) timed.push_back(std::move(t));
  }

  BenchmarkOutcome out;
  RunRecord& run = out.record;
  const int steps = schedule.steps();
  run.config = c.entries();
  run.world_size = rt.size();
  run.iterations = c.iters;
  run.steps = steps;
  run.compute_ms = gather_cube(rt, flatten(timed, &IterationTiming::compute_ms), c.iters, steps);
  run.wait_ms = gather_cube(rt, flatten(timed, &IterationTiming::wait_ms), c.iters, steps);
  run.comm_ms = gather_cube(rt, flatten(timed, &IterationTiming::comm_ms), c.iters, steps);
  std::vector<double> totals;
  for (const auto& t : timed) totals.push_back(t.total_ms);
  run.total_ms = gather_cube(rt, totals, c.iters, 1);

  std::vector<long long> bytes(static_cast<std::size_t>(steps), 0);
  std::vector<double> flops(static_cast<std::size_t>(steps), 0.0);
  for (int s = 0; s < steps; ++s) {
    bytes[s] = s + 1 < steps ? static_cast<long long>(backend->buffers().kv_bytes) : 0;
    const BlockMask m = schedule.mask(s);
    flops[s] = m.empty() ? 0.0 : block_flops(c.spec, *m.pattern, m.q_runs, m.kv_runs);
  }
  const auto all_bytes = gather(rt.world(), std::span<const long long>(bytes));
  run.bytes_sent.assign(all_bytes.begin(), all_bytes.end());
  run.step_flops = gather(rt.world(), std::span<const double>(flops));
  run.ranks = gather_ranks(rt, *backend);

  const AttentionResult result = backend->read_result();
  if (c.check) {
    run.check = check_against_reference(c, rt, inputs, positions, result);
    out.check_failed = !run.check->passed;
  }
  if (c.dump_tensors) run.tensors = dump_tensors(c, rt, layout, result);

  const double peak = max_all(rt.world(), static_cast<double>(backend->allocated_bytes()));
  if (rt.is_root()) {
    summarize_run(run, attention_flops(c.spec), c.spec.batch * c.spec.seq_len);
    run.summary["peak_mem_bytes"] = peak;
    run.summary["bytes_per_token"] = peak / static_cast<double>(c.spec.batch * layout.local_len());
    run.provenance = collect_provenance(rt, run.ranks, backend->kernel().name());
  }
  return out;
}

}  // namespace ringbench
