#include "ring/RingBenchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "core/InputGenerator.hpp"
#include "core/PatternSpec.hpp"

#include "core/Error.hpp"
#include "core/FlopCount.hpp"
#include "core/RunSummary.hpp"
#include "core/Statistics.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MpiCheck.hpp"
#include "distributed/PeerWait.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/BackwardCheck.hpp"
#include "ring/DoubleRing.hpp"
#include "ring/EmulatedRing.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/Provenance.hpp"
#include "ring/RingAttention.hpp"
#include "ring/RingBackward.hpp"
#include "ring/SampledRowCheck.hpp"
#include "ring/StepWork.hpp"
#include "ring/UlyssesRing.hpp"

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
std::vector<double> gather_by_rank(const MpiRuntime& rt, const std::vector<double>& local,
                                   int locals, int rows, int cols) {
  const std::vector<double> all = gather(rt.world(), std::span<const double>(local));
  std::vector<double> out(all.size());
  const int ranks = rt.size() * locals;
  for (int r = 0; rt.is_root() && r < ranks; ++r)
    for (int i = 0; i < rows; ++i)
      std::copy_n(all.begin() + (static_cast<std::ptrdiff_t>(r) * rows + i) * cols, cols,
                  out.begin() + (static_cast<std::ptrdiff_t>(i) * ranks + r) * cols);
  return out;
}

// One pass's timed iterations of this process's ranks: [local][iters][steps] and [local][iters].
struct PassSamples {
  std::vector<double> compute, wait, comm, total, wall;
};

PassSamples flatten(const std::vector<std::vector<IterationTiming>>& per_local) {
  PassSamples s;
  for (const auto& per_rank : per_local)
    for (const auto& it : per_rank) {
      s.compute.insert(s.compute.end(), it.compute_ms.begin(), it.compute_ms.end());
      s.wait.insert(s.wait.end(), it.wait_ms.begin(), it.wait_ms.end());
      s.comm.insert(s.comm.end(), it.comm_ms.begin(), it.comm_ms.end());
      s.total.push_back(it.total_ms);
      s.wall.push_back(it.wall_ms);
    }
  return s;
}

// `energy_j`, `energy_s`: what this process's device used over the timed iterations, and for how
// long (host clock); energy stays NaN where the device has no energy counter.
struct LocalTimings {
  PassSamples forward, backward;  // empty for a pass the case does not time
  double energy_j = 0, energy_s = 0;
};

// The device energy counter of this process (its ranks share one device), after its work is done.
std::optional<double> device_energy(std::span<LocalRank> locals) {
  for (auto& l : locals) l.backend->synchronize();
  return locals.front().backend->energy_j();
}

std::vector<RingMember> ring_members(std::span<LocalRank> locals) {
  std::vector<RingMember> members;
  for (auto& l : locals) members.push_back({&l.schedule, l.backend.get()});
  return members;
}

LocalTimings run_iterations(const BenchmarkCase& c, const MpiRuntime& rt,
                            std::span<LocalRank> locals) {
  const std::vector<RingMember> members = ring_members(locals);
  // Ulysses: its head-sharded buffers made once, before the timed iterations
  std::optional<UlyssesRing> ulysses;
  if (shards_heads(c.scheme)) ulysses.emplace(c, locals.front().schedule.layout(), rt, locals);
  std::optional<DoubleRing> double_ring;  // its outer accumulators, likewise
  if (c.scheme == SchemeKind::doublering) double_ring.emplace(c, locals);
  if (c.pass == PassKind::bwd) {  // the backward starts from the forward's O and LSE: untimed
    if (ulysses)
      ulysses->forward();
    else if (double_ring)
      double_ring->forward();
    else
      for (auto& l : locals) ring_attention_forward(l.schedule, *l.backend, c.scheme);
  }
  std::vector<std::vector<IterationTiming>> forward(locals.size()), backward(locals.size());
  std::optional<double> energy_start;
  auto timed_start = std::chrono::steady_clock::now();
  for (int it = 0; it < c.warmup + c.iters; ++it) {
    maybe_inject_fault(rt, it);
    barrier(rt.world());  // start every iteration together
    const bool timed = it >= c.warmup;
    if (it == c.warmup) {
      energy_start = device_energy(locals);
      timed_start = std::chrono::steady_clock::now();
    }
    if ((ulysses || double_ring) && has_forward(c.pass)) {
      std::vector<IterationTiming> timings = ulysses ? ulysses->forward() : double_ring->forward();
      for (std::size_t l = 0; timed && l < locals.size(); ++l)
        forward[l].push_back(std::move(timings[l]));
    } else if (has_forward(c.pass))
      for (std::size_t l = 0; l < locals.size(); ++l) {
        IterationTiming timing =
            ring_attention_forward(locals[l].schedule, *locals[l].backend, c.scheme);
        if (timed) forward[l].push_back(std::move(timing));
      }
    if (has_backward(c.pass)) {
      std::vector<IterationTiming> timings = ulysses ? ulysses->backward()
                                             : double_ring
                                                 ? double_ring->backward()
                                                 : ring_attention_backward(members, c.scheme);
      for (std::size_t l = 0; timed && l < locals.size(); ++l)
        backward[l].push_back(std::move(timings[l]));
    }
  }
  const std::optional<double> energy_end = device_energy(locals);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - timed_start).count();
  const double energy = energy_start && energy_end ? *energy_end - *energy_start
                                                   : std::numeric_limits<double>::quiet_NaN();
  return {flatten(forward), flatten(backward), energy, seconds};
}

PassTiming gather_pass(const MpiRuntime& rt, const PassSamples& s, int locals, int iters, int steps,
                       double flops) {
  return {gather_by_rank(rt, s.compute, locals, iters, steps),
          gather_by_rank(rt, s.comm, locals, iters, steps),
          gather_by_rank(rt, s.wait, locals, iters, steps),
          gather_by_rank(rt, s.total, locals, iters, 1),
          gather_by_rank(rt, s.wall, locals, iters, 1),
          flops};
}

// The run's iteration: every timed step in order (fwdbwd: the forward's, then the backward's), and
// per (iteration, rank) the passes' totals added up.
void concatenate_passes(RunRecord& run, int steps) {
  const auto cells =
      static_cast<std::size_t>(run.iterations) * static_cast<std::size_t>(run.world_size);
  const auto P = static_cast<std::size_t>(steps);  // per pass
  run.compute_ms.clear(), run.comm_ms.clear(), run.wait_ms.clear();
  run.total_ms.assign(cells, 0.0);
  run.wall_ms.assign(cells, 0.0);
  for (std::size_t cell = 0; cell < cells; ++cell)
    for (const char* name : {"forward", "backward"}) {
      const auto it = run.passes.find(name);
      if (it == run.passes.end() || it->second.total_ms.size() != cells)
        continue;  // not timed, or not root
      const PassTiming& p = it->second;
      const auto first = static_cast<std::ptrdiff_t>(cell * P),
                 last = first + static_cast<std::ptrdiff_t>(P);
      run.compute_ms.insert(run.compute_ms.end(), p.compute_ms.begin() + first,
                            p.compute_ms.begin() + last);
      run.comm_ms.insert(run.comm_ms.end(), p.comm_ms.begin() + first, p.comm_ms.begin() + last);
      run.wait_ms.insert(run.wait_ms.end(), p.wait_ms.begin() + first, p.wait_ms.begin() + last);
      run.total_ms[cell] += p.total_ms[cell];
      run.wall_ms[cell] += p.wall_ms[cell];
    }
  run.steps = static_cast<int>(run.passes.size()) * steps;
}

// This rank's error sums on the forward output: sampled rows against every key (any length), or
// every row against the backend's reference.
ErrorSums output_errors(const BenchmarkCase& c, const SequenceLayout& layout, LocalRank& l,
                        std::span<const int> played) {
  if (c.check_rows == 0) return l.backend->compare_with_reference(c.seed);
  const RowReader read = [&l](std::span<const std::int64_t> local) {
    return l.backend->read_rows(local);
  };
  return compare_sampled_rows(c, layout, l.schedule.rank(), read, played);
}

void add_errors(ErrorSums& into, const ErrorSums& s) {
  into.diff2 += s.diff2;
  into.ref2 += s.ref2;
  into.max_abs = std::max(into.max_abs, s.max_abs);
  into.lse_max_abs = std::max(into.lse_max_abs, s.lse_max_abs);
}

CheckResult check(const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
                  std::vector<LocalRank>& locals, const ErrorSums& mine) {
  CheckResult r;
  const double diff2 = sum_all(rt.world(), mine.diff2), ref2 = sum_all(rt.world(), mine.ref2);
  r.rel_err = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  r.max_abs_err = max_all(rt.world(), mine.max_abs);
  r.lse_max_abs_err = max_all(rt.world(), mine.lse_max_abs);
  r.tolerance = c.effective_tolerance();
  r.rows = c.check_rows;
  r.passed = std::isfinite(r.rel_err) && r.rel_err <= r.tolerance && std::isfinite(r.max_abs_err) &&
             std::isfinite(r.lse_max_abs_err);
  if (has_backward(c.pass) && c.check_rows == 0) {  // gradients need every query: whole only
    r.gradients = check_gradients(c, layout, rt, locals);
    for (double e : {r.gradients->dq_rel_err, r.gradients->dk_rel_err, r.gradients->dv_rel_err})
      r.passed = r.passed && std::isfinite(e) && e <= r.tolerance;
  }
  return r;
}

// An emulated ring's members, one after another on the one backend: each member's inputs
// generated, its iterations run, its output checked before the next member overwrites it.
LocalTimings play_members(const BenchmarkCase& c, const MpiRuntime& rt,
                          const SequenceLayout& layout, std::vector<LocalRank>& members,
                          std::span<const int> played, ErrorSums& errors) {
  LocalTimings all;
  for (std::size_t m = 0; m < members.size(); ++m) {
    LocalRank& l = members[m];
    const int predecessor = (rt.rank() + rt.size() - 1) % rt.size();
    l.emulated->play(l.schedule,
                     member_of(*l.emulation, rt.size(), predecessor, static_cast<int>(m)));
    l.backend->generate_inputs(c.seed, layout.runs(l.rank));
    const LocalTimings t = run_iterations(c, rt, std::span(members).subspan(m, 1));
    for (auto [to, from] : {std::pair{&all.forward, &t.forward}, {&all.backward, &t.backward}})
      for (auto field : {&PassSamples::compute, &PassSamples::wait, &PassSamples::comm,
                         &PassSamples::total, &PassSamples::wall})
        (to->*field).insert((to->*field).end(), (from->*field).begin(), (from->*field).end());
    all.energy_j += t.energy_j;
    all.energy_s += t.energy_s;
    if (c.check) add_errors(errors, output_errors(c, layout, l, played));
  }
  return all;
}

// Rows gathered rank by rank ([ring rank][heads][local rows][width]) -> global token order
// ([heads][seq][width]), placed by the layout.
std::vector<float> place_rows(const SequenceLayout& layout, const std::vector<float>& gathered,
                              std::int64_t heads, std::int64_t width) {
  const auto S = static_cast<std::size_t>(layout.seq_len()), W = static_cast<std::size_t>(width);
  const auto n = static_cast<std::size_t>(layout.local_len()), BH = static_cast<std::size_t>(heads);
  std::vector<float> global(gathered.size());
  for (int r = 0; r < layout.ranks(); ++r) {
    const auto pos = layout.positions(r);
    for (std::size_t bh = 0; bh < BH; ++bh)
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t src = (static_cast<std::size_t>(r) * BH + bh) * n + i;
        const std::size_t dst = bh * S + static_cast<std::size_t>(pos[i]);
        std::copy_n(gathered.begin() + static_cast<std::ptrdiff_t>(src * W), W,
                    global.begin() + static_cast<std::ptrdiff_t>(dst * W));
      }
  }
  return global;
}

// Global tensors in token order for --dump-tensors: the CPU regenerates the inputs (Q, K, V and,
// with a backward pass, dO); O, LSE and the gradients are gathered and placed by the layout.
std::vector<TensorDump> dump_tensors(const BenchmarkCase& c, const MpiRuntime& rt,
                                     const SequenceLayout& layout, std::vector<LocalRank>& locals) {
  const bool backward = has_backward(c.pass);
  std::vector<float> o, lse, dq, dk, dv;  // this process's ranks, one after another
  for (auto& l : locals) {
    const AttentionResult r = l.backend->read_result();
    o.insert(o.end(), r.o.begin(), r.o.end());
    lse.insert(lse.end(), r.lse.begin(), r.lse.end());
    if (!backward) continue;
    const GradientResult g = l.backend->read_gradients();
    dq.insert(dq.end(), g.dq.begin(), g.dq.end());
    dk.insert(dk.end(), g.dk.begin(), g.dk.end());
    dv.insert(dv.end(), g.dv.begin(), g.dv.end());
  }
  for (auto* t : {&o, &lse, &dq, &dk, &dv}) *t = gather(rt.world(), std::span<const float>(*t));
  if (!rt.is_root()) return {};
  const ProblemSpec& s = c.spec;
  const auto S = static_cast<std::uint64_t>(s.seq_len), D = static_cast<std::uint64_t>(s.head_dim);
  const auto B = static_cast<std::uint64_t>(s.batch), H = static_cast<std::uint64_t>(s.heads),
             Hkv = static_cast<std::uint64_t>(s.effective_kv_heads());
  std::vector<std::int64_t> all(S);
  std::iota(all.begin(), all.end(), 0);
  auto tensor = [&](TensorRole role) {
    std::vector<float> t(static_cast<std::size_t>(s.batch * heads_of(role, s)) * S * D);
    generate_tensor(role, c.seed, s, all, t);  // the values the kernels saw
    return t;
  };
  const std::int64_t q_heads = s.batch * s.heads, kv_heads = s.batch * s.effective_kv_heads();
  std::vector<TensorDump> out{{"Q", {B, H, S, D}, tensor(TensorRole::q)},
                              {"K", {B, Hkv, S, D}, tensor(TensorRole::k)},
                              {"V", {B, Hkv, S, D}, tensor(TensorRole::v)},
                              {"O", {B, H, S, D}, place_rows(layout, o, q_heads, s.head_dim)},
                              {"LSE", {B, H, S}, place_rows(layout, lse, q_heads, 1)}};
  if (backward) {
    out.push_back({"dO", {B, H, S, D}, tensor(TensorRole::d_o)});
    out.push_back({"dQ", {B, H, S, D}, place_rows(layout, dq, q_heads, s.head_dim)});
    out.push_back({"dK", {B, Hkv, S, D}, place_rows(layout, dk, kv_heads, s.head_dim)});
    out.push_back({"dV", {B, Hkv, S, D}, place_rows(layout, dv, kv_heads, s.head_dim)});
  }
  return out;
}

// Every column's host, device and ring rank (an emulated ring: the member it played).
std::vector<RankInfo> gather_ranks(const MpiRuntime& rt, const std::vector<LocalRank>& locals) {
  std::string devices, buses;
  std::vector<double> ring_ranks;
  for (const auto& l : locals) {
    devices += l.backend->device_name() + '\n';
    buses += l.backend->pci_bus_id() + '\n';
    ring_ranks.push_back(l.rank);
  }
  const auto hosts = gather(rt.world(), rt.hostname());
  const auto all_devices = gather(rt.world(), devices);
  const auto all_buses = gather(rt.world(), buses);
  const auto all_ring_ranks = gather(rt.world(), std::span<const double>(ring_ranks));
  const std::vector<double> local_rank{double(rt.local_rank())};
  const auto local_ranks = gather(rt.world(), std::span<const double>(local_rank));
  std::vector<RankInfo> ranks;
  for (int p = 0; rt.is_root() && p < rt.size(); ++p) {
    std::istringstream dev(all_devices[p]), bus(all_buses[p]);
    for (std::size_t l = 0; l < locals.size(); ++l) {
      RankInfo info{static_cast<int>(all_ring_ranks[ranks.size()]), hosts[p],
                    static_cast<int>(local_ranks[p]), "", ""};
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

void store_telemetry(RunRecord& run, const std::vector<double>& start,
                     const std::vector<double>& end) {
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

// Bytes each local rank sends and FLOPs it computes at every timed step: [local][steps].
StepWork step_work(const BenchmarkCase& c, const std::vector<LocalRank>& locals) {
  StepWork w;
  for (const auto& l : locals) {
    const RankBuffers& buf = l.backend->buffers();
    const StepWork mine = schedule_work(c, l.schedule, buf.kv_bytes, buf.dkv_bytes);
    w.bytes.insert(w.bytes.end(), mine.bytes.begin(), mine.bytes.end());
    w.flops.insert(w.flops.end(), mine.flops.begin(), mine.flops.end());
  }
  return w;
}

// An emulated ring in the record: its size, the members played, the steps run, and for sampled
// steps the iteration projected from the measured ones (the others counted at their mean).
void describe_emulation(RunRecord& run, const EmulationPlan& plan, int real_ranks) {
  auto& s = run.summary;
  s["emulated"] = 1;
  s["real_ranks"] = real_ranks;
  s["ring_size"] = plan.ring_size;
  s["members_played"] = static_cast<double>(plan.members.size());
  s["ring_steps"] = plan.needed_steps();
  s["sampled_steps"] = plan.sampled() ? static_cast<double>(plan.ring_steps.size()) : 0.0;
  if (!plan.sampled()) return;
  const double factor = plan.needed_steps() / static_cast<double>(plan.ring_steps.size());
  s["sample_factor"] = factor;
  auto scale = [factor](std::vector<double>& v) {
    for (double& x : v) x *= factor;
  };
  scale(run.total_ms), scale(run.wall_ms);
  for (auto& [name, pass] : run.passes) scale(pass.total_ms), scale(pass.wall_ms);
}

// What one GPU spent on every member played (each once): with --members all, the whole problem
// computed on this GPU, and its rate.
void add_one_gpu_totals(RunRecord& run, const ProblemSpec& spec, const SequenceLayout& layout,
                        const AttentionPattern& pattern, const EmulationPlan& plan) {
  const int R = run.world_size, I = run.iterations;
  std::set<int> counted;
  double total_ms = 0, flops = 0;
  for (int r = 0; r < R; ++r) {
    const int member = run.ranks[static_cast<std::size_t>(r)].rank;
    if (!counted.insert(member).second) continue;
    std::vector<double> t;
    for (int i = 0; i < I; ++i) t.push_back(run.total_ms[static_cast<std::size_t>(i) * R + r]);
    total_ms += percentile(t, 0.5);
    flops += member_work(spec, layout, pattern, member, plan.last_needed_step);
  }
  run.summary["one_gpu_total_ms"] = total_ms;
  run.summary["one_gpu_flops"] = flops;
  run.summary["one_gpu_tflops"] = total_ms > 0 ? flops / (total_ms * 1e-3) / 1e12 : 0.0;
}

// What the devices used per timed iteration (all of the run's GPUs together), joules per TFLOP of
// the work they did (played members' work in an emulated ring), and their mean power; sampled
// steps give the power only (their energy covers the steps run). Nothing without a counter, and
// nothing for timed windows under kMinEnergySeconds: NVML's counter advances in coarse updates
// (a run of a few ms on an H200 reads 0 J), so short windows would report nonsense.
constexpr double kMinEnergySeconds = 0.5;
void add_energy(RunRecord& run, double joules, double seconds, double flops, bool sampled) {
  if (!std::isfinite(joules) || joules <= 0 || seconds < kMinEnergySeconds || run.iterations <= 0)
    return;
  auto& s = run.summary;
  s["avg_power_w"] = joules / seconds;  // joules over GPU-seconds: the mean per GPU
  if (sampled) return;
  s["energy_j"] = joules / run.iterations;
  if (flops > 0) s["joules_per_tflop"] = s["energy_j"] / (flops / 1e12);
}

}  // namespace

BenchmarkOutcome run_ring_benchmark(const BenchmarkCase& c, const MpiRuntime& rt) {
  const ScopedPeerTimeout wait_limit(c.timeout_s);  // the case's --timeout bounds every wait
  const SequenceLayout layout(c.layout, c.spec.seq_len, c.ring_size(rt.size()));
  const bool emulated = c.emulated(rt.size());
  std::vector<LocalRank> locals =
      make_local_ranks(c, layout, rt, make_pattern(c.spec.mask, c.spec.seq_len));
  const std::vector<double> telemetry_start = sample_telemetry(locals);
  ErrorSums errors;
  LocalTimings t;
  std::vector<int> played;  // the ring ranks whose outputs are there to check
  std::optional<EmulationPlan> plan;
  if (emulated) {
    plan = *locals.front().emulation;  // made once, with the members
    played = plan->members;
    t = play_members(c, rt, layout, locals, played, errors);
  } else {
    for (auto& l : locals) l.backend->generate_inputs(c.seed, layout.runs(l.rank));
    t = run_iterations(c, rt, locals);
    if (c.check)
      for (auto& l : locals) add_errors(errors, output_errors(c, layout, l, played));
  }
  const std::vector<double> telemetry_end = sample_telemetry(locals);

  BenchmarkOutcome out;
  RunRecord& run = out.record;
  const int steps = locals.front().schedule.steps(), L = static_cast<int>(locals.size());
  run.config = c.entries();
  run.world_size = rt.size() * L;  // the columns: ranks, virtual ranks or members played
  run.iterations = c.iters;
  const double forward_flops = attention_flops(c.spec);
  if (has_forward(c.pass))
    run.passes["forward"] = gather_pass(rt, t.forward, L, c.iters, steps, forward_flops);
  if (has_backward(c.pass))
    run.passes["backward"] =
        gather_pass(rt, t.backward, L, c.iters, steps, kBackwardFlopsPerForward * forward_flops);
  concatenate_passes(run, steps);

  const StepWork work = step_work(c, locals);
  for (double b : gather_by_rank(rt, work.bytes, L, 1, run.steps))
    run.bytes_sent.push_back(static_cast<std::int64_t>(b));
  run.step_flops = gather_by_rank(rt, work.flops, L, 1, run.steps);
  run.ranks = gather_ranks(rt, locals);
  const auto keys = static_cast<int>(std::size(kTelemetryKeys));
  store_telemetry(run, gather_by_rank(rt, telemetry_start, L, 1, keys),
                  gather_by_rank(rt, telemetry_end, L, 1, keys));

  if (c.check) {
    run.check = check(c, layout, rt, locals, errors);
    out.check_failed = !run.check->passed;
  }
  if (c.dump_tensors) {
    run.tensors = dump_tensors(c, rt, layout, locals);
    if (rt.is_root()) run.block_map = locals.front().schedule.pattern().block_map();
  }

  double held = 0;
  const std::size_t scheme_bytes = scheme_rank_bytes(c, layout.ranks());
  for (const auto& l : locals)
    held = std::max(held, static_cast<double>(l.backend->allocated_bytes() + scheme_bytes));
  const double peak = max_all(rt.world(), held);
  const double energy = sum_all(rt.world(), t.energy_j), seconds = sum_all(rt.world(), t.energy_s);
  if (rt.is_root()) {
    double flops = 0;
    for (const auto& [name, pass] : run.passes) flops += pass.flops;
    if (plan) describe_emulation(run, *plan, rt.size());
    summarize_run(run, flops, c.spec.batch * c.spec.seq_len);
    if (plan) add_one_gpu_totals(run, c.spec, layout, locals.front().schedule.pattern(), *plan);
    add_energy(run, energy, seconds, plan ? run.summary["one_gpu_flops"] : flops,
               plan && plan->sampled());
    run.summary["peak_mem_bytes"] = peak;
    run.summary["density"] = pattern_density(c.spec);
    run.summary["bytes_per_token"] = peak / static_cast<double>(c.spec.batch * layout.local_len());
    run.summary["kv_block_bytes"] = static_cast<double>(locals.front().backend->buffers().kv_bytes);
    run.provenance = collect_provenance(rt, run.ranks);
    for (auto& [k, v] : locals.front().backend->provenance()) run.provenance[k] = v;
  }
  return out;
}

}  // namespace ringbench
