#include "ring/RingBenchmark.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/InputGenerator.hpp"

#include "core/Error.hpp"
#include "core/FlopCount.hpp"
#include "core/RunSummary.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MpiCheck.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/Provenance.hpp"
#include "ring/RingAttention.hpp"

namespace ringbench {

namespace {

// RINGBENCH_INJECT_FAULT=<rank>: that rank fails after its first iteration. The tests use it to
// show that a failing rank brings the whole job down in bounded time instead of hanging it.
void maybe_inject_fault(const MpiRuntime& rt, int iteration) {
  const char* target = std::getenv("RINGBENCH_INJECT_FAULT");
  if (target && iteration == 1 && std::atoi(target) == rt.rank())
    throw std::runtime_error("injected fault (RINGBENCH_INJECT_FAULT=" + std::string(target) + ")");
}

// Per-process values [local ranks][rows][cols] -> on rank 0, [rows][ring ranks][cols]. Ring rank
// = process rank * local ranks + local index (every process runs the same number of ranks).
std::vector<double> gather_by_rank(const MpiRuntime& rt, const std::vector<double>& local, int locals,
                                   int rows, int cols) {
  const std::vector<double> all = gather(rt.world(), std::span<const double>(local));
  std::vector<double> out(all.size());
  const int ranks = rt.size() * locals;
  for (int r = 0; rt.is_root() && r < ranks; ++r)
    for (int i = 0; i < rows; ++i)
      std::copy_n(all.begin() + (static_cast<std::ptrdiff_t>(r) * rows + i) * cols, cols,
                  out.begin() + (static_cast<std::ptrdiff_t>(i) * ranks + r) * cols);
  return out;
}

struct LocalTimings {
  std::vector<double> compute, wait, comm;  // [local][iters][steps]
  std::vector<double> total, wall;          // [local][iters]
};

LocalTimings run_iterations(const BenchmarkCase& c, const MpiRuntime& rt,
                            std::vector<LocalRank>& locals) {
  LocalTimings t;
  std::vector<std::vector<IterationTiming>> timed(locals.size());
  for (int it = 0; it < c.warmup + c.iters; ++it) {
    maybe_inject_fault(rt, it);
    RINGBENCH_CHECK_MPI(MPI_Barrier(rt.world()));  // start every iteration together
    for (std::size_t l = 0; l < locals.size(); ++l) {
      IterationTiming timing = ring_attention_forward(locals[l].schedule, *locals[l].backend);
      if (it >= c.warmup) timed[l].push_back(std::move(timing));
    }
  }
  for (const auto& per_rank : timed)
    for (const auto& it : per_rank) {
      t.compute.insert(t.compute.end(), it.compute_ms.begin(), it.compute_ms.end());
      t.wait.insert(t.wait.end(), it.wait_ms.begin(), it.wait_ms.end());
      t.comm.insert(t.comm.end(), it.comm_ms.begin(), it.comm_ms.end());
      t.total.push_back(it.total_ms);
      t.wall.push_back(it.wall_ms);
    }
  return t;
}

CheckResult check(const BenchmarkCase& c, const MpiRuntime& rt, std::vector<LocalRank>& locals) {
  ErrorSums mine;
  for (auto& l : locals) {
    const ErrorSums s = l.backend->compare_with_reference(c.seed);
    mine.diff2 += s.diff2;
    mine.ref2 += s.ref2;
    mine.max_abs = std::max(mine.max_abs, s.max_abs);
    mine.lse_max_abs = std::max(mine.lse_max_abs, s.lse_max_abs);
  }
  CheckResult r;
  const double diff2 = sum_all(rt.world(), mine.diff2), ref2 = sum_all(rt.world(), mine.ref2);
  r.rel_err = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  r.max_abs_err = max_all(rt.world(), mine.max_abs);
  r.lse_max_abs_err = max_all(rt.world(), mine.lse_max_abs);
  r.tolerance = c.effective_tolerance();
  r.passed = std::isfinite(r.rel_err) && r.rel_err <= r.tolerance && std::isfinite(r.max_abs_err) &&
             std::isfinite(r.lse_max_abs_err);
  return r;
}

// Global tensors in token order for --dump-tensors: the CPU regenerates Q, K, V; O and LSE rows
// are gathered and placed by the layout.
std::vector<TensorDump> dump_tensors(const BenchmarkCase& c, const MpiRuntime& rt,
                                     const SequenceLayout& layout, std::vector<LocalRank>& locals) {
  std::vector<float> o_local, lse_local;
  for (auto& l : locals) {
    const AttentionResult r = l.backend->read_result();
    o_local.insert(o_local.end(), r.o.begin(), r.o.end());
    lse_local.insert(lse_local.end(), r.lse.begin(), r.lse.end());
  }
  const std::vector<float> o = gather(rt.world(), std::span<const float>(o_local));
  const std::vector<float> lse = gather(rt.world(), std::span<const float>(lse_local));
  if (!rt.is_root()) return {};
  const ProblemSpec& s = c.spec;
  const auto S = static_cast<std::uint64_t>(s.seq_len), D = static_cast<std::uint64_t>(s.head_dim);
  const auto BH = static_cast<std::uint64_t>(s.batch * s.heads);
  std::vector<std::int64_t> all(S);
  std::iota(all.begin(), all.end(), 0);
  auto tensor = [&](TensorRole role) {
    std::vector<float> t(static_cast<std::size_t>(s.batch * heads_of(role, s)) * S * D);
    generate_tensor(role, c.seed, s, all, t);  // the values the kernels saw
    return t;
  };
  std::vector<float> o_global(o.size()), lse_global(lse.size());
  const std::int64_t n = layout.local_len();
  for (int r = 0; r < layout.ranks(); ++r) {
    const auto pos = layout.positions(r);
    for (std::uint64_t bh = 0; bh < BH; ++bh)
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint64_t src = (static_cast<std::uint64_t>(r) * BH + bh) * n + i;
        const std::uint64_t dst = bh * S + static_cast<std::uint64_t>(pos[i]);
        lse_global[dst] = lse[src];
        std::copy_n(o.begin() + static_cast<std::ptrdiff_t>(src * D), D,
                    o_global.begin() + static_cast<std::ptrdiff_t>(dst * D));
      }
  }
  const auto B = static_cast<std::uint64_t>(s.batch), H = static_cast<std::uint64_t>(s.heads),
             Hkv = static_cast<std::uint64_t>(s.effective_kv_heads());
  return {{"Q", {B, H, S, D}, tensor(TensorRole::q)},
          {"K", {B, Hkv, S, D}, tensor(TensorRole::k)},
          {"V", {B, Hkv, S, D}, tensor(TensorRole::v)},
          {"O", {B, H, S, D}, std::move(o_global)},
          {"LSE", {B, H, S}, std::move(lse_global)}};
}

std::vector<RankInfo> gather_ranks(const MpiRuntime& rt, const std::vector<LocalRank>& locals) {
  std::string devices, buses;
  for (const auto& l : locals) {
    devices += l.backend->device_name() + '\n';
    buses += l.backend->pci_bus_id() + '\n';
  }
  const auto hosts = gather(rt.world(), rt.hostname());
  const auto all_devices = gather(rt.world(), devices);
  const auto all_buses = gather(rt.world(), buses);
  const std::vector<double> local_rank{double(rt.local_rank())};
  const auto local_ranks = gather(rt.world(), std::span<const double>(local_rank));
  std::vector<RankInfo> ranks;
  for (int p = 0; rt.is_root() && p < rt.size(); ++p) {
    std::istringstream dev(all_devices[p]), bus(all_buses[p]);
    for (std::size_t l = 0; l < locals.size(); ++l) {
      RankInfo info{static_cast<int>(ranks.size()), hosts[p], static_cast<int>(local_ranks[p]), "", ""};
      std::getline(dev, info.device);
      std::getline(bus, info.pci_bus_id);
      ranks.push_back(info);
    }
  }
  return ranks;
}

// Samples every local rank's telemetry: [local][keys], NaN where a backend reports nothing.
std::vector<double> sample_telemetry(std::vector<LocalRank>& locals) {
  std::vector<double> values;
  for (auto& l : locals) {
    const auto t = l.backend->telemetry();
    for (const char* key : kTelemetryKeys) {
      auto it = t.find(key);
      values.push_back(it == t.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
    }
  }
  return values;
}

void store_telemetry(RunRecord& run, const std::vector<double>& start, const std::vector<double>& end) {
  const std::size_t keys = std::size(kTelemetryKeys);
  for (std::size_t k = 0; k < keys; ++k) {
    std::vector<double> series;  // [ranks][2]: at the start and at the end of the run
    bool any = false;
    for (std::size_t r = 0; r * keys < start.size(); ++r) {
      series.push_back(start[r * keys + k]);
      series.push_back(end[r * keys + k]);
      any |= std::isfinite(start[r * keys + k]);
    }
    if (any) run.telemetry[kTelemetryKeys[k]] = std::move(series);
  }
}

}  // namespace

BenchmarkOutcome run_ring_benchmark(const BenchmarkCase& c, const MpiRuntime& rt) {
  const SequenceLayout layout(c.layout, c.spec.seq_len, c.ring_size(rt.size()));
  std::vector<LocalRank> locals = make_local_ranks(c, layout, rt, make_pattern(c.spec.mask));
  for (auto& l : locals) l.backend->generate_inputs(c.seed, layout.runs(l.rank));
  const std::vector<double> telemetry_start = sample_telemetry(locals);
  const LocalTimings t = run_iterations(c, rt, locals);
  const std::vector<double> telemetry_end = sample_telemetry(locals);

  BenchmarkOutcome out;
  RunRecord& run = out.record;
  const int steps = layout.ranks(), L = static_cast<int>(locals.size());
  run.config = c.entries();
  run.world_size = layout.ranks();
  run.iterations = c.iters;
  run.steps = steps;
  run.compute_ms = gather_by_rank(rt, t.compute, L, c.iters, steps);
  run.wait_ms = gather_by_rank(rt, t.wait, L, c.iters, steps);
  run.comm_ms = gather_by_rank(rt, t.comm, L, c.iters, steps);
  run.total_ms = gather_by_rank(rt, t.total, L, c.iters, 1);
  run.wall_ms = gather_by_rank(rt, t.wall, L, c.iters, 1);

  std::vector<double> bytes, flops;  // [local][steps]
  for (const auto& l : locals)
    for (int s = 0; s < steps; ++s) {
      bytes.push_back(s + 1 < steps ? static_cast<double>(l.backend->buffers().kv_bytes) : 0.0);
      const BlockMask m = l.schedule.mask(s);
      flops.push_back(m.empty() ? 0.0 : block_flops(c.spec, *m.pattern, m.q_runs, m.kv_runs));
    }
  for (double b : gather_by_rank(rt, bytes, L, 1, steps)) run.bytes_sent.push_back(static_cast<std::int64_t>(b));
  run.step_flops = gather_by_rank(rt, flops, L, 1, steps);
  run.ranks = gather_ranks(rt, locals);
  const auto keys = static_cast<int>(std::size(kTelemetryKeys));
  store_telemetry(run, gather_by_rank(rt, telemetry_start, L, 1, keys),
                  gather_by_rank(rt, telemetry_end, L, 1, keys));

  if (c.check) {
    run.check = check(c, rt, locals);
    out.check_failed = !run.check->passed;
  }
  if (c.dump_tensors) run.tensors = dump_tensors(c, rt, layout, locals);

  double held = 0;
  for (const auto& l : locals) held = std::max(held, static_cast<double>(l.backend->allocated_bytes()));
  const double peak = max_all(rt.world(), held);
  if (rt.is_root()) {
    summarize_run(run, attention_flops(c.spec), c.spec.batch * c.spec.seq_len);
    run.summary["peak_mem_bytes"] = peak;
    run.summary["bytes_per_token"] = peak / static_cast<double>(c.spec.batch * layout.local_len());
    run.provenance = collect_provenance(rt, run.ranks);
    for (auto& [k, v] : locals.front().backend->provenance()) run.provenance[k] = v;
  }
  return out;
}

}  // namespace ringbench
