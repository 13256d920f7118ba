#include "ring/StepWork.hpp"

#include <algorithm>

#include "core/FlopCount.hpp"
#include "core/PatternSpec.hpp"
#include "ring/UlyssesShape.hpp"

namespace ringbench {

namespace {
// A head-sharding scheme's steps (UlyssesRing): its ring across the groups' steps 0..R-1 (the
// rank's heads over its group's tokens, blocks of the ring's own size), with the all-to-all in
// ((U - 1) chunks of Q, K, V in the backend's type; the backward's dO) at step 0 and the
// all-to-all out ((U - 1) chunks of fp32 O and LSE; the backward's dQ, dK, dV) at step R.
std::vector<StepCost> head_sharded_costs(const BenchmarkCase& c, const RingSchedule& schedule,
                                         bool backward, std::size_t kv_bytes) {
  const SequenceLayout& layout = schedule.layout();
  const UlyssesShape u = ulysses_shape(c, layout.ranks());
  const double element = double(kv_bytes) / double(2 * u.batch * u.kv_heads * u.n * u.dim);
  const ProblemSpec heads = u.rank_spec(c.spec);
  const SequenceLayout groups = u.group_layout(layout.kind());
  const RingSchedule ring(groups, u.group_of(schedule.rank()),
                          make_pattern(c.spec.mask, c.spec.seq_len), heads.heads);
  const auto block = static_cast<double>(2 * u.batch * u.rank_kv_heads * u.tokens * u.dim);
  std::vector<StepCost> costs(static_cast<std::size_t>(schedule.steps()));
  for (int s = 0; s < ring.steps(); ++s)
    costs[static_cast<std::size_t>(s)] =
        step_cost(ring, s, backward, heads, static_cast<std::size_t>(block * element),
                  static_cast<std::size_t>(block * sizeof(float)));
  const double peers = double(u.ranks - 1);
  costs[0].bytes += peers * double(backward ? u.grad_in_chunk() : u.in_chunk()) * element;
  if (u.ranks > 1)
    costs[static_cast<std::size_t>(u.groups)].bytes +=
        peers * double(backward ? u.grad_out_chunk() : u.out_chunk()) * sizeof(float);
  return costs;
}

// A double ring's step t (ring/DoubleRing): the inner ring's hop at inner steps 0 .. I-2 (in the
// backward the block with its accumulators, and at the last inner step the accumulators on and
// to the outer step's first holder), the outer ring's next first block (K/V only) at inner step 0
// of every outer step but the last, and in the backward the outer ring's sums one outer step
// behind it, the last of them home after the last step.
double double_ring_bytes(int P, int I, int t, bool backward, double kv, double dkv) {
  const int O = P / I, o = t / I, s = t % I;
  double bytes = 0;
  if (I > 1) bytes += s + 1 < I ? kv + (backward ? dkv : 0.0) : (backward ? 2 * dkv : 0.0);
  if (O > 1 && s == 0 && o + 1 < O) bytes += kv;
  if (O > 1 && backward) bytes += (s == 0 && o >= 1 ? dkv : 0.0) + (t == P - 1 ? dkv : 0.0);
  return bytes;
}
}  // namespace

StepCost step_cost(const RingSchedule& schedule, int s, bool backward, const ProblemSpec& spec,
                   std::size_t kv_bytes, std::size_t dkv_bytes, SchemeKind scheme) {
  const int steps = schedule.steps();
  const BlockMask m = schedule.mask(s);
  const double flops = m.empty() ? 0.0 : block_flops(spec, *m.pattern, m.q_runs, m.kv_runs);
  const bool whole = whole_boxes(m, spec.heads);
  if (const int inner = schedule.inner_ranks(); inner > 0)
    return {double_ring_bytes(steps, inner, s, backward, double(kv_bytes), double(dkv_bytes)),
            backward ? kBackwardFlopsPerForward * flops : flops, whole};
  if (!backward && scheme == SchemeKind::allgather)
    return {s == 0 ? static_cast<double>(kv_bytes) * (steps - 1) : 0.0, flops, whole};
  if (!backward && scheme == SchemeKind::allgather_pipelined)
    return {s + 1 < steps ? static_cast<double>(kv_bytes) : 0.0, flops, whole};
  if (!backward) {
    if (s + 1 >= steps || !schedule.passes_on(s)) return {0.0, flops, whole};
    // of the forward's block only the rows its later holders read travel on
    const double rows = static_cast<double>(schedule.rows_passed_on_count(s));
    const double tokens = static_cast<double>(schedule.layout().local_len());
    return {static_cast<double>(kv_bytes) * rows / tokens, flops, whole};
  }
  // a gathering scheme's backward sends dK, dV only, at every step but the first
  if (gathers_blocks(scheme))
    return {s >= 1 ? double(dkv_bytes) : 0.0, kBackwardFlopsPerForward * flops, whole};
  // the backward sends (K, V, dK, dV) until the last step, which sends dK, dV on and then home
  const double travelling = double(kv_bytes + dkv_bytes), last = 2.0 * double(dkv_bytes);
  return {steps == 1      ? 0.0
          : s + 1 < steps ? travelling
                          : last,
          kBackwardFlopsPerForward * flops, whole};
}

StepWork schedule_work(const BenchmarkCase& c, const RingSchedule& schedule, std::size_t kv_bytes,
                       std::size_t dkv_bytes) {
  StepWork w;
  for (const bool backward : {false, true}) {
    if (backward ? !has_backward(c.pass) : !has_forward(c.pass)) continue;
    std::vector<StepCost> costs;
    if (shards_heads(c.scheme))
      costs = head_sharded_costs(c, schedule, backward, kv_bytes);
    else
      for (int s = 0; s < schedule.steps(); ++s)
        costs.push_back(step_cost(schedule, s, backward, c.spec, kv_bytes, dkv_bytes, c.scheme));
    for (const StepCost& cost : costs) {
      w.bytes.push_back(cost.bytes);
      w.flops.push_back(cost.flops);
    }
  }
  return w;
}

bool whole_boxes(const BlockMask& m, std::int64_t heads) {
  if (m.empty()) return false;
  const int period = static_cast<int>(std::min<std::int64_t>(heads, m.pattern->head_period()));
  for (const PositionRun& q : m.q_runs)
    for (const PositionRun& k : m.kv_runs)
      for (int h = 0; h < period; ++h)
        for (int b = 0; b < m.pattern->branches(); ++b)
          if (q.stride != 1 || k.stride != 1 ||
              m.pattern->coverage(q.first(), q.last(), k.first(), k.last(), h, b) ==
                  Coverage::partial)
            return false;
  return true;
}

}  // namespace ringbench
