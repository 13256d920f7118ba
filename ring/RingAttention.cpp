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

IterationTiming ring_attention_forward(const RingSchedule& schedule, RankBackend& backend) {
  const RankBuffers& buf = backend.buffers();
  BlockKernel& kernel = backend.kernel();
  Transport& transport = backend.transport();
  StepTimer& timer = backend.timer();
  const int steps = schedule.steps();

  const auto wall_begin = std::chrono::steady_clock::now();
  timer.iteration_begin();
  kernel.reset(buf.o, buf.lse);
  const void* current = buf.kv_local;  // the local block is only read, never received into
  for (int step = 0; step < steps; ++step) {
    const bool more = step + 1 < steps && schedule.passes_on(step);
    void* next = buf.kv_recv[step % 2];
    // Pass the block in hand on while computing with it; the other receive buffer was read by
    // the previous step, so it is free to receive into.
    if (more) {
      if (const auto rows = rows_exchanged(schedule, buf, step))
        transport.start_exchange_rows(current, next, *rows);
      else
        transport.start_exchange(current, next, buf.kv_bytes);
    }
    timer.compute_begin(step);
    const BlockMask mask = schedule.mask(step);
    if (!mask.empty()) kernel.attend(buf.q, current, mask, buf.o, buf.lse);
    timer.compute_end(step);
    if (more) transport.wait_exchange();
    timer.wait_end(step);
    current = next;
  }
  timer.iteration_end();
  backend.synchronize();

  IterationTiming timing = timer.collect(steps);
  timing.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_begin)
          .count();
  timing.comm_ms = transport.take_comm_ms();
  timing.comm_ms.resize(static_cast<std::size_t>(steps), 0.0);
  return timing;
}

}  // namespace ringbench
