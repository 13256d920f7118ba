#include "ring/RingAttention.hpp"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace ringbench {

namespace {
// What the exchange of `step` moves where only some rows of the blocks travel (nullopt: whole
// blocks both ways).
std::optional<RowExchange> rows_exchanged(const RingSchedule& schedule, const RankBuffers& buf,
                                          int step) {
  auto out = schedule.rows_passed_on(step), in = schedule.rows_arriving(step);
  if (!out && !in) return std::nullopt;
  const std::vector<RowSelection> all{{0, 1, buf.kv_tokens}};
  const auto row_bytes = buf.kv_bytes / static_cast<std::size_t>(buf.kv_planes * buf.kv_tokens);
  return RowExchange{buf.kv_planes, buf.kv_tokens, row_bytes, out ? std::move(*out) : all,
                     in ? std::move(*in) : all};
}
}  // namespace

IterationTiming ring_attention_forward(const RingSchedule& schedule, RankBackend& backend,
                                       SchemeKind scheme) {
  const RankBuffers& buf = backend.buffers();
  BlockKernel& kernel = backend.kernel();
  Transport& transport = backend.transport();
  StepTimer& timer = backend.timer();
  const int steps = schedule.steps();
  // The ring passes a block on as long as a later rank needs it, into the receive buffer the
  // previous step has finished reading; a gathering scheme passes every block round the whole
  // ring (an all-gather over the ring's links), each into a slot of its own, and its plain
  // variant gathers everything before it attends to anything but the local block.
  const bool gathering = gathers_blocks(scheme);
  const bool gather_first = scheme == SchemeKind::allgather;
  auto passes_on = [&](int step) {
    return step + 1 < steps && (gathering || schedule.passes_on(step));
  };
  auto slot = [&](int step) {  // where the block of step + 1 lands
    return gathering ? buf.kv_slots[static_cast<std::size_t>(step)] : buf.kv_recv[step % 2];
  };
  auto block = [&](int step) -> const void* { return step == 0 ? buf.kv_local : slot(step - 1); };
  auto exchange = [&](int step) {
    if (const auto rows = gathering ? std::nullopt : rows_exchanged(schedule, buf, step))
      transport.start_exchange_rows(block(step), slot(step), *rows);
    else
      transport.start_exchange(block(step), slot(step), buf.kv_bytes);
  };

  const auto wall_begin = std::chrono::steady_clock::now();
  timer.iteration_begin();
  kernel.reset(buf.o, buf.lse);
  for (int step = 0; step < steps; ++step) {
    // Pass the block in hand on while computing with it.
    if (!gather_first && passes_on(step)) exchange(step);
    timer.compute_begin(step);
    const BlockMask mask = schedule.mask(step);
    if (!mask.empty()) kernel.attend(buf.q, block(step), mask, buf.o, buf.lse);
    timer.compute_end(step);
    if (gather_first && step == 0)  // the whole gather, after the local block's attention
      for (int hop = 0; passes_on(hop); ++hop) {
        exchange(hop);
        transport.wait_exchange();
      }
    else if (passes_on(step))
      transport.wait_exchange();
    timer.wait_end(step);
  }
  timer.iteration_end();
  backend.synchronize();

  IterationTiming timing = timer.collect(steps);
  timing.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_begin)
          .count();
  timing.comm_ms = transport.take_comm_ms();
  if (gather_first) {  // every hop belongs to step 0's gather
    double gather_ms = 0;
    for (double ms : timing.comm_ms) gather_ms += ms;
    timing.comm_ms.assign(1, gather_ms);
  }
  timing.comm_ms.resize(static_cast<std::size_t>(steps), 0.0);
  return timing;
}

}  // namespace ringbench
