#include "ring/StepWork.hpp"

#include <algorithm>

#include "core/FlopCount.hpp"
#include "ring/UlyssesShape.hpp"

namespace ringbench {

namespace {
// Ulysses: step 0 the all-to-all in ((P - 1) chunks of Q, K, V in the backend's type) and the
// rank's heads over every token; step 1 the all-to-all out ((P - 1) chunks of fp32 O and LSE).
// The backward: dO in (the backend's type), the gradients, dQ, dK, dV out (fp32).
StepCost ulysses_step_cost(const RingSchedule& schedule, int s, bool backward,
                           const ProblemSpec& spec, std::size_t kv_bytes) {
  const SequenceLayout& layout = schedule.layout();
  const UlyssesShape u = ulysses_shape(spec, layout.ranks());
  const double element = double(kv_bytes) / double(2 * u.batch * u.kv_heads * u.n * u.dim);
  const double peers = double(u.ranks - 1);
  if (s == 0) {
    const std::vector<PositionRun> all = u.all_runs();
    const double flops = block_flops(u.rank_spec(spec), schedule.pattern(), all, all);
    return backward ? StepCost{peers * double(u.grad_in_chunk()) * element,
                               kBackwardFlopsPerForward * flops, false}
                    : StepCost{peers * double(u.in_chunk()) * element, flops, false};
  }
  if (s == 1)
    return {peers * double(backward ? u.grad_out_chunk() : u.out_chunk()) * sizeof(float), 0.0,
            false};
  return {};
}
}  // namespace

StepCost step_cost(const RingSchedule& schedule, int s, bool backward, const ProblemSpec& spec,
                   std::size_t kv_bytes, std::size_t dkv_bytes, SchemeKind scheme) {
  const int steps = schedule.steps();
  const BlockMask m = schedule.mask(s);
  const double flops = m.empty() ? 0.0 : block_flops(spec, *m.pattern, m.q_runs, m.kv_runs);
  const bool whole = whole_boxes(m, spec.heads);
  if (scheme == SchemeKind::ulysses)
    return ulysses_step_cost(schedule, s, backward, spec, kv_bytes);
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
    for (int s = 0; s < schedule.steps(); ++s) {
      const StepCost cost = step_cost(schedule, s, backward, c.spec, kv_bytes, dkv_bytes, c.scheme);
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
