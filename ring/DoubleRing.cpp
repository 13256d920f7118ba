#include "ring/DoubleRing.hpp"

#include <algorithm>
#include <chrono>

#include "ring/LockstepPasses.hpp"

namespace ringbench {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point begin) {
  return std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
}

// Where a rank keeps a double ring's blocks: the inner ring's two receive buffers, then the outer
// ring's two (RankBuffers::kv_slots; a ring of one member has none).
class DoubleRingSlots {
 public:
  DoubleRingSlots(const RankBuffers& buf, const DoubleRingTopology& t)
      : buf_(buf), outer_first_(t.inner > 1 ? 2 : 0) {}
  // Where the inner ring's block of inner step s + 1 lands.
  void* inner(int s) const { return buf_.kv_slots[static_cast<std::size_t>(s % 2)]; }
  // Where the outer ring's first block of outer step o + 1 lands.
  void* outer(int o) const { return buf_.kv_slots[static_cast<std::size_t>(outer_first_ + o % 2)]; }
  // The first block of outer step o: the rank's own, then what the outer ring brought.
  void* first(int o) const { return o == 0 ? const_cast<void*>(buf_.kv_local) : outer(o - 1); }
  // The block in hand at inner step s of outer step o.
  void* block(int o, int s) const { return s == 0 ? first(o) : inner(s - 1); }

 private:
  const RankBuffers& buf_;
  int outer_first_;
};

// One link of a double ring and the step each of its exchanges of an iteration started at, so
// its transfer times land on their steps.
class TimedLink {
 public:
  explicit TimedLink(Transport* link) : link_(link) {}
  void start(int step, const void* send, void* recv, std::size_t bytes) {
    link_->start_exchange(send, recv, bytes);
    steps_.push_back(step);
  }
  void wait() { link_->wait_exchange(); }
  // Adds the transfer times to `per_step`; call after the iteration's work has completed.
  void add_comm(std::vector<double>& per_step) {
    if (!link_) return;
    const std::vector<double> ms = link_->take_comm_ms();
    for (std::size_t i = 0; i < ms.size() && i < steps_.size(); ++i)
      per_step[static_cast<std::size_t>(steps_[i])] += ms[i];
    steps_.clear();
  }

 private:
  Transport* link_;
  std::vector<int> steps_;
};

// One rank's double-ring backward pass, cut where the ranks of a virtual ring take turns: hop
// (o, h) is inner hop h of outer step o (h = 0 .. I: the ring's lagged accumulators, the last hop
// bringing the inner ring's share to the step's first holder; one hop without an inner ring),
// and a last hop brings the outer ring's sums home. send(hop) starts the hop's exchanges,
// finish(hop) computes its step and waits for them.
class DoubleRingBackwardPass {
 public:
  DoubleRingBackwardPass(LocalRank& local, const DoubleRingTopology& t, float* sums)
      : schedule_(local.schedule),
        backend_(*local.backend),
        buf_(backend_.buffers()),
        kernel_(backend_.backward_kernel()),
        timer_(backend_.timer()),
        slot_(buf_, t),
        I_(t.inner),
        O_(t.outer()),
        H_(I_ > 1 ? I_ + 1 : 1),
        inner_(I_ > 1 ? &backend_.backward_transport() : nullptr),
        outer_blocks_(O_ > 1 ? backend_.outer_transport() : nullptr),
        outer_sums_(O_ > 1 ? backend_.outer_accumulator_transport() : nullptr),
        sums_(sums),
        in_{buf_.q, buf_.d_o, buf_.o, buf_.lse, buf_.delta} {}

  int hops() const { return O_ * H_ + (O_ > 1 ? 1 : 0); }

  void begin() {
    wall_begin_ = Clock::now();
    timer_.iteration_begin();
    share_pending_ = false;
  }

  void send(int hop) {
    if (hop == O_ * H_)  // the outer ring's sums home, to the owner of the last outer step's block
      return outer_sums_.start(last_step(), sum(O_ - 1), buf_.dkv_home, buf_.dkv_bytes);
    const int o = hop / H_, h = hop % H_;
    if (h == 0) start_outer_step(o);
    if (I_ > 1) send_inner(o, h);
  }

  void finish(int hop) {
    timer_.compute_begin(hop);  // each hop timed on its own: virtual ranks run between them
    const int o = hop / H_, h = hop % H_;
    if (hop < O_ * H_ && h < I_) compute(o, h);
    timer_.compute_end(hop);
    if (hop == O_ * H_) {
      outer_sums_.wait();
    } else {
      if (I_ > 1) inner_.wait();
      if (h + 1 == H_) finish_outer_step(o);
    }
    timer_.wait_end(hop);
  }

  IterationTiming end(bool alone) {
    timer_.iteration_end();
    backend_.synchronize();
    const IterationTiming by_hop = timer_.collect(hops());
    IterationTiming t;
    t.total_ms = by_hop.total_ms;
    t.wall_ms = ms_since(wall_begin_);
    const auto P = static_cast<std::size_t>(I_ * O_);
    t.compute_ms.assign(P, 0.0);
    t.wait_ms.assign(P, 0.0);
    t.comm_ms.assign(P, 0.0);
    for (int hop = 0; hop < hops(); ++hop) {  // the hops after an outer step's last belong to it
      const auto step = static_cast<std::size_t>(step_of(hop));
      t.compute_ms[step] += by_hop.compute_ms[static_cast<std::size_t>(hop)];
      t.wait_ms[step] += by_hop.wait_ms[static_cast<std::size_t>(hop)];
    }
    for (TimedLink* link : {&inner_, &outer_blocks_, &outer_sums_}) link->add_comm(t.comm_ms);
    if (!alone) t.total_ms = t.wall_ms = own_steps_ms(t);  // virtual ranks take turns
    return t;
  }

 private:
  int last_step() const { return I_ * O_ - 1; }
  // The step a hop belongs to: inner hop h of outer step o, the hop home the last step's.
  int step_of(int hop) const {
    return hop == O_ * H_ ? last_step() : hop / H_ * I_ + std::min(hop % H_, I_ - 1);
  }
  float* grads(void* block) const {
    return reinterpret_cast<float*>(static_cast<char*>(block) + buf_.kv_bytes);
  }
  std::size_t dkv_values() const { return buf_.dkv_bytes / sizeof(float); }
  // The outer ring's dK/dV sum of outer step o's first block: what the previous inner rings
  // added, arriving over the outer ring, plus this inner ring's share.
  float* sum(int o) const { return sums_ + static_cast<std::size_t>(o % 2) * dkv_values(); }
  // Where this inner ring's share of outer step o's first block lands on the rank: home in a ring
  // without an outer ring, the sum itself at the first outer step, else beside it.
  float* group_share(int o) const {
    return O_ == 1 ? buf_.dkv_home : o == 0 ? sum(0) : buf_.dkv_part;
  }

  // The outer ring: the next outer step's first K/V ahead, the sum of the previous step's first
  // block one outer step behind it (the inner ring before this one has added its share).
  void start_outer_step(int o) {
    const int step = o * I_;
    if (o + 1 < O_) outer_blocks_.start(step, slot_.first(o), slot_.outer(o), buf_.kv_bytes);
    if (o >= 1) outer_sums_.start(step, sum(o - 1), sum(o), buf_.dkv_bytes);
  }
  void finish_outer_step(int o) {
    if (o + 1 < O_) outer_blocks_.wait();
    if (o < 1) return;
    outer_sums_.wait();
    if (share_present_) kernel_.accumulate(sum(o), group_share(o), dkv_values());
  }

  // The inner ring's hops, the ring backward's: fold the last share into the accumulators in hand,
  // pass the block with them on (at the last step the accumulators only, then the hop that brings
  // them to the outer step's first holder).
  void send_inner(int o, int h) {
    const int step = o * I_ + std::min(h, I_ - 1);
    void* hand = slot_.block(o, h);
    if (share_pending_) kernel_.accumulate(grads(hand), buf_.dkv_part, dkv_values());
    share_pending_ = false;
    if (h + 1 < I_)
      inner_.start(step, hand, slot_.inner(h), buf_.kv_bytes + buf_.dkv_bytes);
    else if (h + 1 == I_)
      inner_.start(step, grads(hand), grads(slot_.inner(h)), buf_.dkv_bytes);
    else
      inner_.start(step, grads(hand), group_share(o), buf_.dkv_bytes);
  }

  void compute(int o, int h) {
    const int step = o * I_ + h;
    if (step == 0) kernel_.prepare(in_, buf_.dq);
    const BlockMask mask = schedule_.mask(step);
    if (I_ == 1) {  // the inner ring's share is this rank's own (the first one written if empty)
      share_present_ = o == 0 || !mask.empty();
      if (share_present_)
        kernel_.attend_backward(in_, slot_.first(o), mask, buf_.dq, group_share(o));
      return;
    }
    if (mask.empty()) return;  // nothing of this block is attended here: no share to fold in
    kernel_.attend_backward(in_, slot_.block(o, h), mask, buf_.dq, buf_.dkv_part);
    share_pending_ = true;
  }

  const RingSchedule& schedule_;
  RankBackend& backend_;
  const RankBuffers& buf_;
  BlockBackwardKernel& kernel_;
  StepTimer& timer_;
  DoubleRingSlots slot_;
  int I_, O_, H_;
  TimedLink inner_, outer_blocks_, outer_sums_;
  float* sums_;
  BackwardInputs in_;
  Clock::time_point wall_begin_;
  bool share_pending_ = false;  // dkv_part holds a share not yet folded into its accumulator
  bool share_present_ = true;   // the inner ring's share of the outer step is to be added
};

}  // namespace

DoubleRing::DoubleRing(const BenchmarkCase& c, std::span<LocalRank> locals)
    : topology_{locals.front().schedule.layout().ranks(), c.scheme_group_ranks},
      copy_(make_row_copier(c)) {
  const bool backward = has_backward(c.pass);
  for (LocalRank& l : locals) {
    Member m{&l, nullptr};
    const RankBuffers& buf = l.backend->buffers();
    if (backward && topology_.outer() > 1) {
      m.accumulators = copy_->allocate(2 * buf.dkv_bytes);
      // the outer ring moves K/V only: the accumulators behind its blocks stay the empty ones
      // each inner ring starts from
      const DoubleRingSlots slot(buf, topology_);
      l.backend->synchronize();
      for (int o = 0; o < 2; ++o)
        copy_->zero(static_cast<char*>(slot.outer(o)) + buf.kv_bytes, buf.dkv_bytes);
    }
    members_.push_back(std::move(m));
  }
  copy_->finish();
}

std::vector<IterationTiming> DoubleRing::forward() {
  std::vector<IterationTiming> timings;
  for (Member& m : members_) timings.push_back(forward(m));
  return timings;
}

IterationTiming DoubleRing::forward(Member& m) const {
  const RingSchedule& schedule = m.local->schedule;
  RankBackend& backend = *m.local->backend;
  const RankBuffers& buf = backend.buffers();
  BlockKernel& kernel = backend.kernel();
  StepTimer& timer = backend.timer();
  const DoubleRingSlots slot(buf, topology_);
  const int I = topology_.inner, O = topology_.outer();
  TimedLink inner(I > 1 ? &backend.transport() : nullptr);
  TimedLink outer(O > 1 ? backend.outer_transport() : nullptr);

  const auto wall_begin = Clock::now();
  timer.iteration_begin();
  kernel.reset(buf.o, buf.lse);
  for (int o = 0; o < O; ++o) {
    // the next outer step's first block comes over the outer ring while this inner ring runs
    if (o + 1 < O) outer.start(o * I, slot.first(o), slot.outer(o), buf.kv_bytes);
    for (int s = 0; s < I; ++s) {
      const int step = o * I + s;
      if (s + 1 < I) inner.start(step, slot.block(o, s), slot.inner(s), buf.kv_bytes);
      timer.compute_begin(step);
      const BlockMask mask = schedule.mask(step);
      if (!mask.empty()) kernel.attend(buf.q, slot.block(o, s), mask, buf.o, buf.lse);
      timer.compute_end(step);
      if (s + 1 < I)
        inner.wait();
      else if (o + 1 < O)
        outer.wait();
      timer.wait_end(step);
    }
  }
  timer.iteration_end();
  backend.synchronize();
  IterationTiming timing = timer.collect(I * O);
  timing.wall_ms = ms_since(wall_begin);
  timing.comm_ms.assign(static_cast<std::size_t>(I * O), 0.0);
  inner.add_comm(timing.comm_ms);
  outer.add_comm(timing.comm_ms);
  return timing;
}

std::vector<IterationTiming> DoubleRing::backward() {
  std::vector<DoubleRingBackwardPass> passes;
  passes.reserve(members_.size());
  for (Member& m : members_)
    passes.emplace_back(*m.local, topology_, reinterpret_cast<float*>(m.accumulators.get()));
  return run_in_lockstep(passes);
}

}  // namespace ringbench
