#include "ring/RingBackward.hpp"

#include <chrono>

#include "ring/LockstepPasses.hpp"

namespace ringbench {

namespace {

// What every backward pass of a rank works with, and what they share: the wall clock, the
// accumulators behind a block's K/V, and the end of an iteration.
class PassResources {
 protected:
  PassResources(const RingSchedule& schedule, RankBackend& backend)
      : schedule_(schedule),
        backend_(backend),
        buf_(backend.buffers()),
        kernel_(backend.backward_kernel()),
        transport_(backend.backward_transport()),
        timer_(backend.timer()),
        steps_(schedule.steps()),
        in_{buf_.q, buf_.d_o, buf_.o, buf_.lse, buf_.delta} {}

  void begin_iteration() {
    wall_begin_ = std::chrono::steady_clock::now();
    timer_.iteration_begin();
  }
  // The timings of `hops` timed hops, after the backend has finished.
  IterationTiming end_iteration(int hops) {
    timer_.iteration_end();
    backend_.synchronize();
    IterationTiming t = timer_.collect(hops);
    t.wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_begin_)
            .count();
    t.comm_ms = transport_.take_comm_ms();
    return t;
  }
  float* grads(void* block) const {
    return reinterpret_cast<float*>(static_cast<char*>(block) + buf_.kv_bytes);
  }
  std::size_t dkv_values() const { return buf_.dkv_bytes / sizeof(float); }

  const RingSchedule& schedule_;
  RankBackend& backend_;
  const RankBuffers& buf_;
  BlockBackwardKernel& kernel_;
  Transport& transport_;
  StepTimer& timer_;
  int steps_;
  BackwardInputs in_;
  std::chrono::steady_clock::time_point wall_begin_;
};

// One rank's backward pass, cut where the ranks of a virtual ring must take turns: send(hop)
// folds the previous step's share into the block in hand and starts the hop's exchange;
// finish(hop) computes the step and waits for the exchange. Hop P (P > 1) only brings the
// accumulators home.
class BackwardPass : PassResources {
 public:
  BackwardPass(const RingSchedule& schedule, RankBackend& backend)
      : PassResources(schedule, backend) {}

  int hops() const { return steps_ > 1 ? steps_ + 1 : 1; }

  void begin() {
    begin_iteration();
    share_pending_ = false;
  }

  void send(int hop) {
    if (share_pending_) kernel_.accumulate(grads(in_hand(hop)), buf_.dkv_part, dkv_values());
    share_pending_ = false;
    if (steps_ == 1) return;  // a ring of one: nothing travels
    if (hop + 1 < steps_)
      transport_.start_exchange(in_hand(hop), incoming(hop), buf_.kv_bytes + buf_.dkv_bytes);
    else if (hop + 1 ==
             steps_)  // the last block's K/V are not needed any more, its accumulators are
      transport_.start_exchange(grads(in_hand(hop)), grads(incoming(hop)), buf_.dkv_bytes);
    else
      transport_.start_exchange(grads(in_hand(hop)), buf_.dkv_home, buf_.dkv_bytes);
  }

  void finish(int hop) {
    timer_.compute_begin(hop);
    if (hop < steps_) compute(hop);
    timer_.compute_end(hop);
    if (steps_ > 1) transport_.wait_exchange();
    timer_.wait_end(hop);
  }

  IterationTiming end(bool alone) {
    IterationTiming t = end_iteration(hops());
    fold_last_hop(t);
    if (!alone) t.total_ms = t.wall_ms = own_steps_ms(t);
    return t;
  }

 private:
  void compute(int step) {
    if (step == 0) kernel_.prepare(in_, buf_.dq);
    const BlockMask mask = schedule_.mask(step);
    // In a ring of one the share is the whole gradient: written straight home.
    if (steps_ == 1)
      return kernel_.attend_backward(in_, in_hand(step), mask, buf_.dq, buf_.dkv_home);
    if (mask.empty()) return;  // nothing of this block is attended here: no share to fold in
    kernel_.attend_backward(in_, in_hand(step), mask, buf_.dq, buf_.dkv_part);
    share_pending_ = true;
  }

  // The block in hand at step `hop` (at hop P: the last one received), and the buffer the hop's
  // exchange receives into, alternating like the forward's.
  void* in_hand(int hop) const {
    return hop == 0 ? const_cast<void*>(buf_.kv_local) : buf_.kv_recv[(hop - 1) % 2];
  }
  void* incoming(int hop) const { return buf_.kv_recv[hop % 2]; }

  // The hop home is timed as a step of its own; it belongs to the last step.
  void fold_last_hop(IterationTiming& t) const {
    const auto P = static_cast<std::size_t>(steps_);
    if (t.wait_ms.size() > P) {
      t.compute_ms[P - 1] += t.compute_ms[P];
      t.wait_ms[P - 1] += t.wait_ms[P];
      t.compute_ms.resize(P);
      t.wait_ms.resize(P);
    }
    if (t.comm_ms.size() > P) {
      t.comm_ms[P - 1] += t.comm_ms[P];
    }
    t.comm_ms.resize(P, 0.0);
  }

  bool share_pending_ = false;  // dkv_part holds a share not yet folded into its accumulator
};

// The gathering schemes' backward: every block's K/V is on every rank already (the forward's
// slots), so only the dK/dV accumulators travel. Block s's accumulator starts on rank s + 1 (its
// share written into the block's slot, behind the K/V), gains each next rank's share and arrives
// home after P - 1 hops, where the owner's own share (step 0, written into dkv_home) takes it in.
// send(step) computes the step's share, folds it in and posts the hop; finish(step) waits.
class GatheredBackwardPass : PassResources {
 public:
  GatheredBackwardPass(const RingSchedule& schedule, RankBackend& backend)
      : PassResources(schedule, backend) {}

  int hops() const { return steps_; }

  void begin() { begin_iteration(); }

  void send(int step) {
    timer_.compute_begin(step);
    if (step == 0) kernel_.prepare(in_, buf_.dq);
    const BlockMask mask = schedule_.mask(step);
    if (step <= 1) {  // the owner's share, or the first share of the block's accumulator
      kernel_.attend_backward(in_, block(step), mask, buf_.dq, step == 0 ? buf_.dkv_home : acc(1));
    } else if (!mask.empty()) {
      kernel_.attend_backward(in_, block(step), mask, buf_.dq, buf_.dkv_part);
      kernel_.accumulate(acc(step), buf_.dkv_part, dkv_values());
    }
    timer_.compute_end(step);
    // the accumulator on to the next rank; the predecessor's lands for the next step (or home)
    if (step >= 1)
      transport_.start_exchange(acc(step), step + 1 < steps_ ? acc(step + 1) : arriving_home(),
                                buf_.dkv_bytes);
  }

  void finish(int step) {
    if (step >= 1) transport_.wait_exchange();
    timer_.wait_end(step);
  }

  IterationTiming end(bool alone) {
    if (steps_ > 1) kernel_.accumulate(buf_.dkv_home, arriving_home(), dkv_values());
    IterationTiming t = end_iteration(steps_);
    t.comm_ms.insert(t.comm_ms.begin(), 0.0);  // step 0 sends nothing
    t.comm_ms.resize(static_cast<std::size_t>(steps_), 0.0);
    if (!alone) t.total_ms = t.wall_ms = own_steps_ms(t);
    return t;
  }

 private:
  const void* block(int step) const {
    return step == 0 ? buf_.kv_local : buf_.kv_slots[static_cast<std::size_t>(step - 1)];
  }
  // The accumulator of step `step`'s block: behind its K/V in its slot.
  float* acc(int step) const { return grads(buf_.kv_slots[static_cast<std::size_t>(step - 1)]); }
  // Where this rank's own block's accumulator arrives: the local block's (otherwise unused) room.
  float* arriving_home() const { return grads(const_cast<void*>(buf_.kv_local)); }
};

template <class Pass>
std::vector<IterationTiming> run_passes(std::span<const RingMember> members) {
  std::vector<Pass> passes;
  passes.reserve(members.size());
  for (const auto& m : members) passes.emplace_back(*m.schedule, *m.backend);
  return run_in_lockstep(passes);
}

}  // namespace

std::vector<IterationTiming> ring_attention_backward(std::span<const RingMember> members,
                                                     SchemeKind scheme) {
  return gathers_blocks(scheme) ? run_passes<GatheredBackwardPass>(members)
                                : run_passes<BackwardPass>(members);
}

}  // namespace ringbench
