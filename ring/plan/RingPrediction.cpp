#include "ring/plan/RingPrediction.hpp"

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>

#include "core/Error.hpp"
#include "core/FlopCount.hpp"
#include "core/PatternSpec.hpp"
#include "core/patterns/DilatedPattern.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/RingSchedule.hpp"
#include "ring/StepWork.hpp"
#include "ring/UlyssesShape.hpp"

namespace ringbench {

namespace {

// One step of every rank: compute and the transfer of what each sends, in milliseconds.
struct StepColumn {
  std::vector<double> compute, transfer;
};

// Advances every rank's clock over one step. Ranks of one process run alone (each its own steps,
// its receive a copy as large as its send); ring ranks end a step when its compute and both its
// transfers have, a transfer starting once both ends are at the step (`overlaps`: beside the
// kernel) or have computed it.
void advance(const StepColumn& col, bool overlaps, bool one_process, bool lockstep,
             std::vector<double>& clock) {
  const int P = static_cast<int>(clock.size());
  const auto& C = col.compute;
  const auto& X = col.transfer;
  if (lockstep) {  // every rank's step shares the device: each waits for all of them
    double all = 0;
    for (int r = 0; r < P; ++r) all += overlaps ? std::max(C[r], X[r]) : C[r] + X[r];
    for (double& t : clock) t += all;
    return;
  }
  if (one_process) {
    for (int r = 0; r < P; ++r) clock[r] += overlaps ? std::max(C[r], X[r]) : C[r] + X[r];
    return;
  }
  std::vector<double> next(static_cast<std::size_t>(P));
  auto ready = [&](int rank) { return overlaps ? clock[rank] : clock[rank] + C[rank]; };
  for (int r = 0; r < P; ++r) {
    const int prev = (r + P - 1) % P, after = (r + 1) % P;
    const double done = clock[r] + C[r];
    const double recv = X[prev] > 0 ? std::max(ready(r), ready(prev)) + X[prev] : 0.0;
    const double send = X[r] > 0 ? std::max(ready(r), ready(after)) + X[r] : 0.0;
    next[r] = std::max({done, recv, send});
  }
  clock = std::move(next);
}

const LinkModel& link_from(const PlanCluster& cluster, int rank) {
  const int next = (rank + 1) % cluster.ranks;
  const int per_host = std::max(1, cluster.ranks_per_host);
  return cluster.one_process || rank / per_host == next / per_host ? cluster.intra : cluster.inter;
}

std::int64_t pattern_granularity(const BenchmarkCase& c) {
  const auto pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const auto* dilated = dynamic_cast<const DilatedPattern*>(pattern.get());
  std::int64_t unit = 1;
  if (dilated)
    for (const DilatedBranch& b : dilated->branch_list()) unit = std::lcm(unit, b.segment);
  return unit;
}

// What a device must have free for `held` bytes of ranks (GPUs keep some room beside them).
double needed_bytes(const BenchmarkCase& c, double held) {
  return c.device == DeviceKind::cpu ? held : held + kDeviceReservedBytes;
}

}  // namespace

double rank_memory(const BenchmarkCase& c, int ranks, RankRole role) {
  return static_cast<double>(plan_rank_bytes(c, c.spec.seq_len / ranks, role));
}

std::int64_t longest_fitting(const BenchmarkCase& c, int ranks, double memory_per_rank,
                             RankRole role) {
  const std::int64_t unit =
      std::lcm(SequenceLayout::required_multiple(c.layout, ranks), pattern_granularity(c));
  auto fits = [&](std::int64_t k) {
    BenchmarkCase probe = c;
    probe.spec.seq_len = k * unit;
    return needed_bytes(c, rank_memory(probe, ranks, role)) <= memory_per_rank;
  };
  std::int64_t lo = 0, hi = (std::int64_t{1} << 44) / unit;  // fits(lo) or lo == 0
  if (!fits(1)) return 0;
  lo = 1;
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo * unit;
}

// The calibrated curve a pass of the case reads: its device, kernel, pass, dtype, head dim,
// concurrency and mask.
ComputeQuery compute_query(const BenchmarkCase& c, const PlanCluster& cluster, bool backward) {
  return {std::string(to_string(c.device)),
          std::string(to_string(c.kernel)),
          backward ? "backward" : "forward",
          std::string(to_string(c.spec.dtype)),
          static_cast<int>(c.spec.head_dim),
          cluster.concurrency,
          c.spec.mask};
}

namespace {
// Ulysses and the hybrid: the all-to-all in, the ring across the groups on the rank's heads (the
// ring's own prediction, a ring of one for plain Ulysses), the all-to-all out, one after another
// (UlyssesRing). An all-to-all moves U - 1 chunks each way, to the peers of its host over the
// intra-node link and to the others over the inter-node one; groups of consecutive ranks put a
// host's ranks in as few groups as they can, so the ring across groups leaves the host unless a
// host holds several groups.
RingPrediction predict_head_sharded(const BenchmarkCase& c, const PlanCluster& cluster,
                                    const ComputeModel& model, RingPrediction out) {
  const UlyssesShape u = ulysses_shape(c, cluster.ranks);
  const int U = static_cast<int>(u.ranks), R = static_cast<int>(u.groups);
  const double element =
      double(travelling_block(c, u.n).kv) / double(2 * u.batch * u.kv_heads * u.n * u.dim);
  const int per_host = std::max(1, cluster.ranks_per_host);
  const int local = cluster.one_process ? U : std::min(U, per_host);
  auto all_to_all_ms = [&](double chunk_bytes) {
    return (local - 1) * cluster.intra.ms(chunk_bytes) +
           (U - local) * cluster.inter.ms(chunk_bytes);
  };
  BenchmarkCase heads = c;
  heads.spec = u.rank_spec(c.spec);
  heads.set_scheme({});
  if (R == 1) heads.layout = LayoutKind::contiguous;  // one group: every token in order
  PlanCluster across = cluster;
  across.ranks = R;
  across.ranks_per_host = cluster.one_process ? R : std::max(1, per_host / U);
  across.memory_per_rank = 0;  // this case's memory is the whole rank's, judged above
  const RingPrediction ring = predict_ring(heads, across, model);
  double moved = 0, bytes = 0;
  auto pass = [&](double in_bytes, double out_bytes) {
    if (U > 1) moved += all_to_all_ms(in_bytes) + all_to_all_ms(out_bytes);
    bytes += (U - 1) * (in_bytes + out_bytes);
  };
  if (has_forward(c.pass)) pass(double(u.in_chunk()) * element, double(u.out_chunk()) * 4.0);
  if (has_backward(c.pass))
    pass(double(u.grad_in_chunk()) * element, double(u.grad_out_chunk()) * 4.0);
  out.compute_ms = ring.compute_ms;
  out.transfer_ms = ring.transfer_ms + moved;
  out.iteration_ms = ring.iteration_ms + moved;
  out.exposed_ms = std::max(0.0, out.iteration_ms - out.compute_ms);
  out.bytes_per_rank = ring.bytes_per_rank + bytes;
  out.flops = ring.flops * U;  // the ring's problem is the rank's heads: 1/U of the work
  out.tflops_per_rank =
      out.iteration_ms > 0 ? out.flops / (out.iteration_ms * 1e-3) / cluster.ranks / 1e12 : 0.0;
  for (const std::string& note : ring.notes)
    out.notes.push_back(c.scheme_text() + " (all-to-all in groups of " + std::to_string(U) +
                        ", a ring of " + std::to_string(R) + " across them): " + note);
  return out;
}

}  // namespace

RingPrediction predict_ring(const BenchmarkCase& c, const PlanCluster& cluster,
                            const ComputeModel& model) {
  RingPrediction out;
  const int P = cluster.ranks;
  const SequenceLayout layout(c.layout, c.spec.seq_len, P);
  const std::shared_ptr<const AttentionPattern> pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const std::int64_t n = layout.local_len();
  const TravellingBlock block = travelling_block(c, n);
  out.ranks = P;
  out.seq_len = c.spec.seq_len;
  out.local_len = n;
  const RankRole role = cluster.emulated                ? RankRole::emulated
                        : P > 1 && !cluster.one_process ? RankRole::linked
                                                        : RankRole::resident;
  out.memory_bytes = rank_memory(c, P, role);
  // virtual ranks hold a backend each; emulated members share one
  const double held = out.memory_bytes * (cluster.one_process && !cluster.emulated ? P : 1);
  out.fits = cluster.memory_per_rank <= 0 || needed_bytes(c, held) <= cluster.memory_per_rank;
  if (shards_heads(c.scheme)) return predict_head_sharded(c, cluster, model, out);

  // Every rank's schedule and step costs, rank by rank in parallel (a sparse pattern's exact
  // counts at thousands of ranks are millions of box counts).
  const int last_needed = ring_last_needed_step(layout, *pattern, c.spec.heads);
  std::vector<std::unique_ptr<RingSchedule>> schedules(static_cast<std::size_t>(P));
#pragma omp parallel for schedule(dynamic, 16)
  for (int r = 0; r < P; ++r)
    schedules[r] =
        std::make_unique<RingSchedule>(case_schedule(c, layout, r, pattern, last_needed));
  std::vector<double> clock(static_cast<std::size_t>(P), 0.0), compute(clock), transfer(clock);
  double bytes = 0;
  // virtual ranks on one GPU run the backward in lockstep, their kernels side by side on the
  // device, so each rank's pass lasts as long as all of theirs (on CPU ranks they take turns)
  const bool lockstep_backward =
      cluster.one_process && !cluster.emulated && P > 1 && c.device == DeviceKind::cuda;
  for (const bool backward : {false, true}) {
    if (backward ? !has_backward(c.pass) : !has_forward(c.pass)) continue;
    const ComputeQuery query = compute_query(c, cluster, backward);
    // the curves of whole and of partial blocks, the kernel picked at a whole block's work
    const double whole =
        flops_for_pairs(c.spec, n * n * c.spec.heads) * (backward ? kBackwardFlopsPerForward : 1.0);
    const ChosenCurve full_curve = model.curve(query, true, whole);
    std::optional<ChosenCurve> partial_curve;
    const bool gather_first = !backward && c.scheme == SchemeKind::allgather;
    StepColumn col{std::vector<double>(P), std::vector<double>(P)};
    // costs[r * P + s]
    std::vector<StepCost> costs(static_cast<std::size_t>(P) * P);
#pragma omp parallel for schedule(dynamic, 16)
    for (int r = 0; r < P; ++r)
      for (int s = 0; s < P; ++s)
        costs[static_cast<std::size_t>(r) * P + s] =
            step_cost(*schedules[r], s, backward, c.spec, block.kv, block.dkv, c.scheme);
    for (int s = 0; s < P; ++s) {
      for (int r = 0; r < P; ++r) {
        const StepCost& cost = costs[static_cast<std::size_t>(r) * P + s];
        const bool full = cost.whole;
        if (!full && cost.flops > 0 && !partial_curve)
          partial_curve = model.curve(query, false, cost.flops);
        col.compute[r] = full             ? full_curve.curve.ms(cost.flops)
                         : cost.flops > 0 ? partial_curve->curve.ms(cost.flops)
                                          : 0.0;
        // the plain all-gather's P - 1 hops, one after another, at step 0
        col.transfer[r] = gather_first
                              ? (s == 0 ? (P - 1) * link_from(cluster, r).ms(block.kv) : 0.0)
                              : link_from(cluster, r).ms(cost.bytes);
        compute[r] += col.compute[r];
        transfer[r] += col.transfer[r];
        bytes += cost.bytes;
      }
      // the plain all-gather starts once the local block's attention is done
      advance(col, cluster.intra.overlaps_compute() && !(gather_first && s == 0),
              cluster.one_process, backward && lockstep_backward, clock);
    }
    out.notes.push_back(query.pass + ": " + full_curve.words +
                        (partial_curve ? "; partial steps: " + partial_curve->words : ""));
  }
  out.bytes_per_rank = bytes / P;
  out.iteration_ms = *std::max_element(clock.begin(), clock.end());
  out.compute_ms = *std::max_element(compute.begin(), compute.end());
  out.transfer_ms = *std::max_element(transfer.begin(), transfer.end());
  out.exposed_ms = std::max(0.0, out.iteration_ms - out.compute_ms);
  const double forward = attention_flops(c.spec);
  out.flops = (has_forward(c.pass) ? forward : 0.0) +
              (has_backward(c.pass) ? kBackwardFlopsPerForward * forward : 0.0);
  out.tflops_per_rank =
      out.iteration_ms > 0 ? out.flops / (out.iteration_ms * 1e-3) / P / 1e12 : 0.0;
  return out;
}

}  // namespace ringbench
