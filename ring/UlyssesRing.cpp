#include "ring/UlyssesRing.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "core/PatternSpec.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MpiTransport.hpp"
#include "ring/RingAttention.hpp"
#include "ring/RingBackward.hpp"

namespace ringbench {

namespace {
double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}
// Copies `rows` rows of `width` floats from `from` to `to` (contiguous).
void copy_floats(const float* from, float* to, std::int64_t rows, std::int64_t width) {
  std::memcpy(to, from, static_cast<std::size_t>(rows * width) * sizeof(float));
}
}  // namespace

namespace {
// Heads [first, first + count) of a [batch][heads][plane] tensor, appended at `out`; returns the
// end of what was written.
float* take_heads(const float* t, const UlyssesShape& u, std::int64_t heads, std::int64_t first,
                  std::int64_t count, std::int64_t plane, float* out) {
  for (std::int64_t b = 0; b < u.batch; ++b, out += count * plane)
    copy_floats(t + (b * heads + first) * plane, out, count, plane);
  return out;
}

// The reverse: `count` heads from `in` into heads [first, ...) of t, added when `add` (a kv head
// whose dK, dV come from several ranks); returns the end of what was read.
const float* put_heads(const float* in, const UlyssesShape& u, std::int64_t heads,
                       std::int64_t first, std::int64_t count, std::int64_t plane, float* t,
                       bool add) {
  for (std::int64_t b = 0; b < u.batch; ++b, in += count * plane) {
    float* to = t + (b * heads + first) * plane;
    if (add)
      std::transform(in, in + count * plane, to, to, std::plus<>());
    else
      copy_floats(in, to, count, plane);
  }
  return in;
}

// Calls f(local row, group row, rows) for the runs of rank i's tokens: a group row is the token's
// local index in the ring across the groups (its position when there is one group). A run of
// consecutive positions stays consecutive there: contiguous and zigzag groups hold whole chunks.
template <class F>
void for_each_run(const SequenceLayout& layout, const SequenceLayout& groups, int i, F&& f) {
  for (const PositionRun& r : layout.runs(i)) {
    if (r.stride == 1) {
      f(r.local_start, groups.locate(r.global_start).second, r.length);
      continue;
    }
    for (std::int64_t t = 0; t < r.length; ++t)
      f(r.local_start + t, groups.locate(r.global_start + t * r.stride).second, 1);
  }
}

// `planes` planes of rank i's tokens ([plane][n][width] at `in`) to their rows in the group's
// [plane][tokens][width] at `to`; returns the end of what was read.
const float* scatter_rows(const SequenceLayout& layout, const SequenceLayout& groups, int i,
                          const UlyssesShape& u, const float* in, std::int64_t planes,
                          std::int64_t width, float* to) {
  for (std::int64_t p = 0; p < planes; ++p, in += u.n * width)
    for_each_run(layout, groups, i, [&](std::int64_t local, std::int64_t row, std::int64_t rows) {
      copy_floats(in + local * width, to + (p * u.tokens + row) * width, rows, width);
    });
  return in;
}

// The reverse: rank j's tokens of `planes` group planes, appended at `out`.
float* gather_rows(const SequenceLayout& layout, const SequenceLayout& groups, int j,
                   const UlyssesShape& u, const float* from, std::int64_t planes,
                   std::int64_t width, float* out) {
  for (std::int64_t p = 0; p < planes; ++p, out += u.n * width)
    for_each_run(layout, groups, j, [&](std::int64_t local, std::int64_t row, std::int64_t rows) {
      copy_floats(from + (p * u.tokens + row) * width, out + local * width, rows, width);
    });
  return out;
}

}  // namespace

UlyssesRing::UlyssesRing(const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
                         std::span<LocalRank> locals)
    : rt_(rt),
      layout_(layout),
      shape_(ulysses_shape(c, layout.ranks())),
      group_layout_(shape_.group_layout(layout.kind())),
      virtual_ranks_(locals.size() > 1) {
  const std::shared_ptr<const AttentionPattern> pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const std::int64_t heads = shape_.rank_heads;
  const int last_needed = ring_last_needed_step(group_layout_, *pattern, heads);
  std::vector<std::unique_ptr<CpuBackend>> backends = make_head_backends(c);
  const auto exchange = static_cast<std::size_t>(shape_.exchange_values() / 2);
  members_.reserve(locals.size());
  for (std::size_t k = 0; k < locals.size(); ++k) {
    const int rank = locals[k].rank, g = shape_.group_of(rank);
    members_.push_back({&locals[k], g, shape_.index_of(rank), std::vector<float>(exchange),
                        std::vector<float>(exchange), std::move(backends[k]),
                        RingSchedule(group_layout_, g, pattern, heads, last_needed)});
  }
}

// The backends of this process's members, in the order of `locals`: for virtual ranks one
// simulated ring per place in a group (its members the places' ranks of every group), for a real
// rank one linked to its ring across the groups.
std::vector<std::unique_ptr<CpuBackend>> UlyssesRing::make_head_backends(const BenchmarkCase& c) {
  const ProblemSpec spec = shape_.rank_spec(c.spec);
  const bool backward = has_backward(c.pass);
  const int U = static_cast<int>(shape_.ranks), R = static_cast<int>(shape_.groups);
  const int received = R > 1 ? 2 : 0, threads = cpu_threads(rt_);
  std::vector<std::unique_ptr<CpuBackend>> out;
  if (virtual_ranks_) {
    out.resize(static_cast<std::size_t>(U * R));
    for (int index = 0; index < U; ++index) {
      auto ring = make_virtual_cpu_ring(spec, shape_.tokens, R, threads, backward, received);
      for (int g = 0; g < R; ++g)
        out[static_cast<std::size_t>(rank_of(g, index))] = std::move(ring[g]);
    }
    return out;
  }
  const int g = shape_.group_of(rt_.rank()), index = shape_.index_of(rt_.rank());
  group_comm_.emplace(rt_.world(), g, index, "the all-to-all group of " + std::to_string(U));
  ring_comm_.emplace(rt_.world(), index, g, "the ring across " + std::to_string(R) + " groups");
  out.push_back(std::make_unique<CpuBackend>(
      spec, shape_.tokens, std::make_unique<MpiTransport>(ring_comm_->get(), c.timeout_s), threads,
      backward, nullptr, received));
  return out;
}

// Chunk for group peer j: Q of this rank's tokens in j's heads [b][h][n][D], then K and V in the
// kv heads j's heads use [b][kv][n][D].
void UlyssesRing::pack_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  const auto* q = static_cast<const float*>(buf.q);
  const auto* kv = static_cast<const float*>(buf.kv_local);
  const std::int64_t nd = u.n * u.dim, half = u.batch * u.kv_heads * nd;
  for (int j = 0; j < u.ranks; ++j) {
    float* out = m.send.data() + j * u.in_chunk();
    out = take_heads(q, u, u.heads, j * u.rank_heads, u.rank_heads, nd, out);
    for (const float* part : {kv, kv + half})
      out = take_heads(part, u, u.kv_heads, u.kv_first(j), u.rank_kv_heads, nd, out);
  }
}

// Chunk from group peer i: its tokens, placed at their rows of the group in every head.
void UlyssesRing::unpack_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const CpuBackend::HostInputs to = m.heads->inputs();
  for (int i = 0; i < u.ranks; ++i) {
    const int peer = rank_of(m.group, i);
    const float* in = m.recv.data() + i * u.in_chunk();
    in = scatter_rows(layout_, group_layout_, peer, u, in, u.batch * u.rank_heads, u.dim, to.q);
    scatter_rows(layout_, group_layout_, peer, u, in, 2 * u.batch * u.rank_kv_heads, u.dim, to.kv);
  }
}

// The rings across the groups, each member's forward in turn (virtual ranks read the blocks of
// the others from their backends, which hold them from the unpacking).
std::vector<IterationTiming> UlyssesRing::attend() {
  std::vector<IterationTiming> out;
  for (Member& m : members_) out.push_back(ring_attention_forward(m.schedule, *m.heads));
  return out;
}

// Chunk for group peer j: O [b][h][n][D] and LSE [b][h][n] of j's tokens in this rank's heads.
void UlyssesRing::pack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& heads = m.heads->buffers();
  const std::int64_t planes = u.batch * u.rank_heads;
  for (int j = 0; j < u.ranks; ++j) {
    const int peer = rank_of(m.group, j);
    float* out = m.send.data() + j * u.out_chunk();
    out = gather_rows(layout_, group_layout_, peer, u, heads.o, planes, u.dim, out);
    gather_rows(layout_, group_layout_, peer, u, heads.lse, planes, 1, out);
  }
}

// Chunk from group peer i: its heads (i * heads / U ...) of this rank's tokens, into O and LSE.
void UlyssesRing::unpack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  for (int i = 0; i < u.ranks; ++i) {
    const float* in = m.recv.data() + i * u.out_chunk();
    in = put_heads(in, u, u.heads, i * u.rank_heads, u.rank_heads, u.n * u.dim, buf.o, false);
    put_heads(in, u, u.heads, i * u.rank_heads, u.rank_heads, u.n, buf.lse, false);
  }
}

// Chunk for group peer j: dO of this rank's tokens in j's heads, like Q's.
void UlyssesRing::pack_grad_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const auto* d_o = static_cast<const float*>(m.local->backend->buffers().d_o);
  for (int j = 0; j < u.ranks; ++j)
    take_heads(d_o, u, u.heads, j * u.rank_heads, u.rank_heads, u.n * u.dim,
               m.send.data() + j * u.grad_in_chunk());
}

void UlyssesRing::unpack_grad_in(Member& m) const {
  const UlyssesShape& u = shape_;
  for (int i = 0; i < u.ranks; ++i)
    scatter_rows(layout_, group_layout_, rank_of(m.group, i), u,
                 m.recv.data() + i * u.grad_in_chunk(), u.batch * u.rank_heads, u.dim,
                 m.heads->inputs().d_o);
}

// The rings' backward: a real rank's ring on its own, or each simulated ring's members in
// lockstep (its blocks change on the way).
std::vector<IterationTiming> UlyssesRing::attend_backward() {
  if (!virtual_ranks_) {
    const RingMember me{&members_[0].schedule, members_[0].heads.get()};
    return ring_attention_backward(std::span(&me, 1));
  }
  std::vector<IterationTiming> out(members_.size());
  for (int index = 0; index < shape_.ranks; ++index) {
    std::vector<RingMember> ring;
    for (int g = 0; g < shape_.groups; ++g) {
      Member& m = members_[static_cast<std::size_t>(rank_of(g, index))];
      ring.push_back({&m.schedule, m.heads.get()});
    }
    std::vector<IterationTiming> timings = ring_attention_backward(ring);
    for (int g = 0; g < shape_.groups; ++g)
      out[static_cast<std::size_t>(rank_of(g, index))] = std::move(timings[g]);
  }
  return out;
}

// Chunk for group peer j: dQ of j's tokens in this rank's heads, then dK and dV in its kv heads.
void UlyssesRing::pack_grad_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& heads = m.heads->buffers();
  const std::int64_t kv_planes = u.batch * u.rank_kv_heads;
  for (int j = 0; j < u.ranks; ++j) {
    const int peer = rank_of(m.group, j);
    float* out = m.send.data() + j * u.grad_out_chunk();
    out =
        gather_rows(layout_, group_layout_, peer, u, heads.dq, u.batch * u.rank_heads, u.dim, out);
    for (const float* part : {heads.dkv_home, heads.dkv_home + kv_planes * u.tokens * u.dim})
      out = gather_rows(layout_, group_layout_, peer, u, part, kv_planes, u.dim, out);
  }
}

// Chunk from group peer i: dQ of its heads, dK and dV of its kv heads, summed where ranks share
// one.
void UlyssesRing::unpack_grad_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  const std::int64_t nd = u.n * u.dim, half = u.batch * u.kv_heads * nd;
  std::fill_n(buf.dkv_home, 2 * half, 0.0f);
  for (int i = 0; i < u.ranks; ++i) {
    const float* in = m.recv.data() + i * u.grad_out_chunk();
    in = put_heads(in, u, u.heads, i * u.rank_heads, u.rank_heads, nd, buf.dq, false);
    for (float* part : {buf.dkv_home, buf.dkv_home + half})
      in = put_heads(in, u, u.kv_heads, u.kv_first(i), u.rank_kv_heads, nd, part, true);
  }
}

std::vector<double> UlyssesRing::exchange(std::size_t chunk) {
  if (!virtual_ranks_) {
    const auto begin = std::chrono::steady_clock::now();
    all_to_all(group_comm_->get(), members_[0].send.data(), members_[0].recv.data(), chunk);
    return {ms_since(begin)};
  }
  // virtual ranks: each receives its chunk of every group peer's send
  std::vector<double> ms;
  for (Member& to : members_) {
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < shape_.ranks; ++i) {
      const Member& from = members_[static_cast<std::size_t>(rank_of(to.group, i))];
      copy_floats(from.send.data() + to.index * chunk, to.recv.data() + i * chunk, 1,
                  static_cast<std::int64_t>(chunk));
    }
    ms.push_back(ms_since(begin));
  }
  return ms;
}

std::vector<IterationTiming> UlyssesRing::forward() {
  return run({&UlyssesRing::pack_in, shape_.in_chunk(), &UlyssesRing::unpack_in,
              &UlyssesRing::attend, &UlyssesRing::pack_out, shape_.out_chunk(),
              &UlyssesRing::unpack_out});
}

std::vector<IterationTiming> UlyssesRing::backward() {
  return run({&UlyssesRing::pack_grad_in, shape_.grad_in_chunk(), &UlyssesRing::unpack_grad_in,
              &UlyssesRing::attend_backward, &UlyssesRing::pack_grad_out, shape_.grad_out_chunk(),
              &UlyssesRing::unpack_grad_out});
}

// A group of one exchanges with itself: its chunk for "peer 0" is its own, so the same phases
// run with a copy in place of the exchange. The ring's steps become the pass's first R steps; the
// all-to-alls are exposed communication of step 0 (in) and step R (out).
std::vector<IterationTiming> UlyssesRing::run(const Phases& phases) {
  const int P = layout_.ranks(), U = static_cast<int>(shape_.ranks);
  const auto R = static_cast<std::size_t>(shape_.groups);
  std::vector<double> busy(members_.size(), 0.0);  // each member's packing and unpacking
  auto each_member = [&](auto phase) {
    for (std::size_t k = 0; k < members_.size(); ++k) {
      const auto begin = std::chrono::steady_clock::now();
      (this->*phase)(members_[k]);
      busy[k] += ms_since(begin);
    }
  };
  auto swap_in_place = [&](std::int64_t chunk) {
    if (U > 1) return exchange(static_cast<std::size_t>(chunk));
    for (Member& m : members_) std::copy_n(m.send.data(), chunk, m.recv.data());
    return std::vector<double>(members_.size(), 0.0);
  };
  each_member(phases.pack_in);
  const std::vector<double> in = swap_in_place(phases.in_chunk);
  each_member(phases.unpack_in);
  std::vector<IterationTiming> out = (this->*phases.compute)();
  each_member(phases.pack_out);
  const std::vector<double> back = swap_in_place(phases.out_chunk);
  each_member(phases.unpack_out);
  for (std::size_t k = 0; k < members_.size(); ++k) {
    IterationTiming& t = out[k];
    for (auto* steps : {&t.compute_ms, &t.comm_ms, &t.wait_ms})
      steps->resize(static_cast<std::size_t>(P), 0.0);
    t.comm_ms[0] += in[k], t.wait_ms[0] += in[k];
    if (U > 1) t.comm_ms[R] += back[k], t.wait_ms[R] += back[k];
    t.total_ms += busy[k] + in[k] + back[k];
    t.wall_ms += busy[k] + in[k] + back[k];
  }
  return out;
}

}  // namespace ringbench
