#include "ring/UlyssesRing.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <numeric>
#include <stdexcept>

#include "core/PatternSpec.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MpiTransport.hpp"
#include "ring/MemoryPlan.hpp"
#include "ring/RingAttention.hpp"
#include "ring/RingBackward.hpp"

namespace ringbench {

namespace {
double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::byte* bytes(void* p) {
  return static_cast<std::byte*>(p);
}
const std::byte* bytes(const void* p) {
  return static_cast<const std::byte*>(p);
}

// Heads [first, first + count) of a [batch][heads][plane] tensor (plane: bytes per head),
// appended at `out`; returns the end of what was written.
std::byte* take_heads(RowCopier& copy, const std::byte* t, const UlyssesShape& u,
                      std::int64_t heads, std::int64_t first, std::int64_t count, std::size_t plane,
                      std::byte* out) {
  const std::size_t run = static_cast<std::size_t>(count) * plane;
  for (std::int64_t b = 0; b < u.batch; ++b, out += run)
    copy.copy(t + static_cast<std::size_t>(b * heads + first) * plane, out, run);
  return out;
}

// The reverse: `count` heads from `in` into heads [first, ...) of t, added when `add` (fp32: a kv
// head whose dK, dV come from several ranks); returns the end of what was read.
const std::byte* put_heads(RowCopier& copy, const std::byte* in, const UlyssesShape& u,
                           std::int64_t heads, std::int64_t first, std::int64_t count,
                           std::size_t plane, std::byte* t, bool add) {
  const std::size_t run = static_cast<std::size_t>(count) * plane;
  for (std::int64_t b = 0; b < u.batch; ++b, in += run) {
    std::byte* to = t + static_cast<std::size_t>(b * heads + first) * plane;
    if (add)
      copy.add(reinterpret_cast<const float*>(in), reinterpret_cast<float*>(to),
               run / sizeof(float));
    else
      copy.copy(in, to, run);
  }
  return in;
}

// Calls f(local row, group row, rows, group stride) for the runs of rank i's tokens: a group row
// is the token's local index in the ring across the groups (its position when there is one
// group), the run's next token `stride` group rows further. Contiguous and zigzag groups hold
// whole chunks (stride 1); striped runs only meet a group of every token (hybrids refuse them).
template <class F>
void for_each_run(const SequenceLayout& layout, const SequenceLayout& groups, int i, F&& f) {
  for (const PositionRun& r : layout.runs(i)) {
    if (r.stride != 1 && groups.ranks() != 1)
      throw std::logic_error("UlyssesRing: a strided run in a ring across several groups");
    f(r.local_start, groups.locate(r.global_start).second, r.length, r.stride);
  }
}

// `planes` planes of rank i's tokens ([plane][n][row] at `in`, `row` bytes a token) to their rows
// in the group's [plane][tokens][row] at `to`; returns the end of what was read.
const std::byte* scatter_rows(RowCopier& copy, const SequenceLayout& layout,
                              const SequenceLayout& groups, int i, const UlyssesShape& u,
                              const std::byte* in, std::int64_t planes, std::size_t row,
                              std::byte* to) {
  const auto n = static_cast<std::size_t>(u.n), tokens = static_cast<std::size_t>(u.tokens);
  for (std::size_t p = 0; p < static_cast<std::size_t>(planes); ++p, in += n * row)
    for_each_run(layout, groups, i, [&](auto local, auto at, auto rows, auto stride) {
      copy.copy_rows(in + static_cast<std::size_t>(local) * row, row,
                     to + (p * tokens + static_cast<std::size_t>(at)) * row,
                     static_cast<std::size_t>(stride) * row, static_cast<std::size_t>(rows), row);
    });
  return in;
}

// The reverse: rank j's tokens of `planes` group planes, appended at `out`.
std::byte* gather_rows(RowCopier& copy, const SequenceLayout& layout, const SequenceLayout& groups,
                       int j, const UlyssesShape& u, const std::byte* from, std::int64_t planes,
                       std::size_t row, std::byte* out) {
  const auto n = static_cast<std::size_t>(u.n), tokens = static_cast<std::size_t>(u.tokens);
  for (std::size_t p = 0; p < static_cast<std::size_t>(planes); ++p, out += n * row)
    for_each_run(layout, groups, j, [&](auto local, auto at, auto rows, auto stride) {
      copy.copy_rows(from + (p * tokens + static_cast<std::size_t>(at)) * row,
                     static_cast<std::size_t>(stride) * row,
                     out + static_cast<std::size_t>(local) * row, row,
                     static_cast<std::size_t>(rows), row);
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
      copy_(make_row_copier(c)),
      in_process_(static_cast<int>(locals.size()) == layout.ranks()),
      input_bytes_(input_value_bytes(c)) {
  const std::shared_ptr<const AttentionPattern> pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  const std::int64_t heads = shape_.rank_heads;
  const int last_needed = ring_last_needed_step(group_layout_, *pattern, heads);
  std::vector<std::unique_ptr<RankBackend>> backends = make_head_backends(c);
  const std::size_t exchange = shape_.exchange_bytes(has_backward(c.pass), input_bytes_) / 2;
  members_.reserve(locals.size());
  for (std::size_t k = 0; k < locals.size(); ++k) {
    const int rank = locals[k].rank, g = shape_.group_of(rank);
    members_.push_back({&locals[k], g, shape_.index_of(rank), copy_->allocate(exchange),
                        copy_->allocate(exchange), std::move(backends[k]),
                        RingSchedule(group_layout_, g, pattern, heads, last_needed)});
  }
}

// The backends of this process's members, in the order of `locals`: with every rank in this
// process one simulated ring per place in a group (its members the places' ranks of every group),
// on the case's device; for a real rank one linked to its ring across the groups (CPU ranks).
std::vector<std::unique_ptr<RankBackend>> UlyssesRing::make_head_backends(const BenchmarkCase& c) {
  const BenchmarkCase ring = shape_.ring_case(c);
  const int U = static_cast<int>(shape_.ranks), R = static_cast<int>(shape_.groups);
  std::vector<std::unique_ptr<RankBackend>> out;
  if (in_process_) {
    std::vector<int> members(static_cast<std::size_t>(R));
    std::iota(members.begin(), members.end(), 0);
    out.resize(static_cast<std::size_t>(U * R));
    for (int index = 0; index < U; ++index) {
      auto backends = make_backends(ring, group_layout_, rt_, members);
      for (int g = 0; g < R; ++g)
        out[static_cast<std::size_t>(rank_of(g, index))] = std::move(backends[g]);
    }
    return out;
  }
  const int g = shape_.group_of(rt_.rank()), index = shape_.index_of(rt_.rank());
  group_comm_.emplace(rt_.world(), g, index, "the all-to-all group of " + std::to_string(U));
  ring_comm_.emplace(rt_.world(), index, g, "the ring across " + std::to_string(R) + " groups");
  out.push_back(std::make_unique<CpuBackend>(
      ring.spec, shape_.tokens, std::make_unique<MpiTransport>(ring_comm_->get(), c.timeout_s),
      cpu_threads(rt_), has_backward(c.pass), nullptr, received_blocks(ring, R)));
  return out;
}

// Chunk for group peer j: Q of this rank's tokens in j's heads [b][h][n][D], then K and V in the
// kv heads j's heads use [b][kv][n][D].
void UlyssesRing::pack_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  const std::size_t plane = static_cast<std::size_t>(u.n * u.dim) * input_bytes_,
                    half = static_cast<std::size_t>(u.batch * u.kv_heads) * plane;
  for (int j = 0; j < u.ranks; ++j) {
    std::byte* out = m.send.get() + j * in_chunk_bytes();
    out = take_heads(*copy_, bytes(buf.q), u, u.heads, j * u.rank_heads, u.rank_heads, plane, out);
    for (const std::byte* part : {bytes(buf.kv_local), bytes(buf.kv_local) + half})
      out = take_heads(*copy_, part, u, u.kv_heads, u.kv_first(j), u.rank_kv_heads, plane, out);
  }
}

// Chunk from group peer i: its tokens, placed at their rows of the group in every head.
void UlyssesRing::unpack_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBackend::Inputs to = m.heads->inputs();
  const std::size_t row = static_cast<std::size_t>(u.dim) * input_bytes_;
  for (int i = 0; i < u.ranks; ++i) {
    const int peer = rank_of(m.group, i);
    const std::byte* in = m.recv.get() + i * in_chunk_bytes();
    in = scatter_rows(*copy_, layout_, group_layout_, peer, u, in, u.batch * u.rank_heads, row,
                      bytes(to.q));
    scatter_rows(*copy_, layout_, group_layout_, peer, u, in, 2 * u.batch * u.rank_kv_heads, row,
                 bytes(to.kv));
  }
}

// The rings across the groups, each member's forward in turn (in one process the members read
// the blocks of the others from their backends, which hold them from the unpacking).
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
    std::byte* out = m.send.get() + j * out_chunk_bytes();
    out = gather_rows(*copy_, layout_, group_layout_, peer, u, bytes(heads.o), planes,
                      u.dim * sizeof(float), out);
    gather_rows(*copy_, layout_, group_layout_, peer, u, bytes(heads.lse), planes, sizeof(float),
                out);
  }
}

// Chunk from group peer i: its heads (i * heads / U ...) of this rank's tokens, into O and LSE.
void UlyssesRing::unpack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  const std::size_t o_plane = static_cast<std::size_t>(u.n * u.dim) * sizeof(float),
                    lse_plane = static_cast<std::size_t>(u.n) * sizeof(float);
  for (int i = 0; i < u.ranks; ++i) {
    const std::byte* in = m.recv.get() + i * out_chunk_bytes();
    const std::int64_t first = i * u.rank_heads;
    in = put_heads(*copy_, in, u, u.heads, first, u.rank_heads, o_plane, bytes(buf.o), false);
    put_heads(*copy_, in, u, u.heads, first, u.rank_heads, lse_plane, bytes(buf.lse), false);
  }
}

// Chunk for group peer j: dO of this rank's tokens in j's heads, like Q's.
void UlyssesRing::pack_grad_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const void* d_o = m.local->backend->buffers().d_o;
  const std::size_t plane = static_cast<std::size_t>(u.n * u.dim) * input_bytes_;
  for (int j = 0; j < u.ranks; ++j)
    take_heads(*copy_, bytes(d_o), u, u.heads, j * u.rank_heads, u.rank_heads, plane,
               m.send.get() + j * grad_in_chunk_bytes());
}

void UlyssesRing::unpack_grad_in(Member& m) const {
  const UlyssesShape& u = shape_;
  for (int i = 0; i < u.ranks; ++i)
    scatter_rows(*copy_, layout_, group_layout_, rank_of(m.group, i), u,
                 m.recv.get() + i * grad_in_chunk_bytes(), u.batch * u.rank_heads,
                 static_cast<std::size_t>(u.dim) * input_bytes_, bytes(m.heads->inputs().d_o));
}

// The rings' backward: a real rank's ring on its own, or each simulated ring's members in
// lockstep (its blocks change on the way).
std::vector<IterationTiming> UlyssesRing::attend_backward() {
  if (!in_process_) {
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
  const std::size_t row = static_cast<std::size_t>(u.dim) * sizeof(float);
  for (int j = 0; j < u.ranks; ++j) {
    const int peer = rank_of(m.group, j);
    std::byte* out = m.send.get() + j * grad_out_chunk_bytes();
    out = gather_rows(*copy_, layout_, group_layout_, peer, u, bytes(heads.dq),
                      u.batch * u.rank_heads, row, out);
    const std::byte* dk = bytes(heads.dkv_home);
    for (const std::byte* part : {dk, dk + static_cast<std::size_t>(kv_planes * u.tokens) * row})
      out = gather_rows(*copy_, layout_, group_layout_, peer, u, part, kv_planes, row, out);
  }
}

// Chunk from group peer i: dQ of its heads, dK and dV of its kv heads, summed where ranks share
// one.
void UlyssesRing::unpack_grad_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  const std::size_t plane = static_cast<std::size_t>(u.n * u.dim) * sizeof(float),
                    half = static_cast<std::size_t>(u.batch * u.kv_heads) * plane;
  copy_->zero(buf.dkv_home, 2 * half);
  for (int i = 0; i < u.ranks; ++i) {
    const std::byte* in = m.recv.get() + i * grad_out_chunk_bytes();
    in = put_heads(*copy_, in, u, u.heads, i * u.rank_heads, u.rank_heads, plane, bytes(buf.dq),
                   false);
    for (std::byte* part : {bytes(buf.dkv_home), bytes(buf.dkv_home) + half})
      in = put_heads(*copy_, in, u, u.kv_heads, u.kv_first(i), u.rank_kv_heads, plane, part, true);
  }
}

std::vector<double> UlyssesRing::exchange(std::size_t chunk) {
  if (!in_process_) {  // CPU ranks: host memory
    const auto begin = std::chrono::steady_clock::now();
    all_to_all(group_comm_->get(), reinterpret_cast<const float*>(members_[0].send.get()),
               reinterpret_cast<float*>(members_[0].recv.get()), chunk / sizeof(float));
    return {ms_since(begin)};
  }
  // every rank here: each receives its chunk of every group peer's send
  std::vector<double> ms;
  for (Member& to : members_) {
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < shape_.ranks; ++i) {
      const Member& from = members_[static_cast<std::size_t>(rank_of(to.group, i))];
      copy_->copy(from.send.get() + to.index * chunk, to.recv.get() + i * chunk, chunk);
    }
    copy_->finish();
    ms.push_back(ms_since(begin));
  }
  return ms;
}

std::vector<IterationTiming> UlyssesRing::forward() {
  return run({&UlyssesRing::pack_in, in_chunk_bytes(), &UlyssesRing::unpack_in,
              &UlyssesRing::attend, &UlyssesRing::pack_out, out_chunk_bytes(),
              &UlyssesRing::unpack_out});
}

std::vector<IterationTiming> UlyssesRing::backward() {
  return run({&UlyssesRing::pack_grad_in, grad_in_chunk_bytes(), &UlyssesRing::unpack_grad_in,
              &UlyssesRing::attend_backward, &UlyssesRing::pack_grad_out, grad_out_chunk_bytes(),
              &UlyssesRing::unpack_grad_out});
}

// A group of one exchanges with itself: its chunk for "peer 0" is its own, so the same phases
// run with a copy in place of the exchange. The ring's steps become the pass's first R steps; the
// all-to-alls are exposed communication of step 0 (in) and step R (out). The backends' own work
// (inputs, kernels) is waited for before their buffers are packed.
std::vector<IterationTiming> UlyssesRing::run(const Phases& phases) {
  const int P = layout_.ranks(), U = static_cast<int>(shape_.ranks);
  const auto R = static_cast<std::size_t>(shape_.groups);
  std::vector<double> busy(members_.size(), 0.0);  // each member's packing and unpacking
  auto each_member = [&](auto phase) {
    for (std::size_t k = 0; k < members_.size(); ++k) {
      const auto begin = std::chrono::steady_clock::now();
      (this->*phase)(members_[k]);
      copy_->finish();
      busy[k] += ms_since(begin);
    }
  };
  auto swap_in_place = [&](std::size_t chunk) {
    if (U > 1) return exchange(chunk);
    for (Member& m : members_) copy_->copy(m.send.get(), m.recv.get(), chunk);
    copy_->finish();
    return std::vector<double>(members_.size(), 0.0);
  };
  for (Member& m : members_) m.local->backend->synchronize();
  each_member(phases.pack_in);
  const std::vector<double> in = swap_in_place(phases.in_chunk);
  each_member(phases.unpack_in);
  std::vector<IterationTiming> out = (this->*phases.compute)();
  for (Member& m : members_) m.heads->synchronize();
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
