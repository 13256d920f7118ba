#include "ring/UlyssesRing.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "distributed/Collectives.hpp"

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

// Calls f(local row, full-sequence row, rows) for the runs of rank i's tokens: a full-sequence
// row is the token's position.
template <class F>
void for_each_run(const SequenceLayout& layout, int i, F&& f) {
  for (const PositionRun& r : layout.runs(i)) {
    if (r.stride == 1) {
      f(r.local_start, r.global_start, r.length);
      continue;
    }
    for (std::int64_t t = 0; t < r.length; ++t)
      f(r.local_start + t, r.global_start + t * r.stride, 1);
  }
}

// `planes` planes of rank i's tokens ([plane][n][width] at `in`) to their positions in
// [plane][seq][width] at `to`; returns the end of what was read.
const float* scatter_rows(const SequenceLayout& layout, int i, const UlyssesShape& u,
                          const float* in, std::int64_t planes, std::int64_t width, float* to) {
  for (std::int64_t p = 0; p < planes; ++p, in += u.n * width)
    for_each_run(layout, i, [&](std::int64_t local, std::int64_t row, std::int64_t rows) {
      copy_floats(in + local * width, to + (p * u.seq + row) * width, rows, width);
    });
  return in;
}

// The reverse: rank j's tokens of `planes` full-sequence planes, appended at `out`.
float* gather_rows(const SequenceLayout& layout, int j, const UlyssesShape& u, const float* from,
                   std::int64_t planes, std::int64_t width, float* out) {
  for (std::int64_t p = 0; p < planes; ++p, out += u.n * width)
    for_each_run(layout, j, [&](std::int64_t local, std::int64_t row, std::int64_t rows) {
      copy_floats(from + (p * u.seq + row) * width, out + local * width, rows, width);
    });
  return out;
}

std::vector<float> values_if(bool wanted, std::size_t count) {
  return wanted ? std::vector<float>(count) : std::vector<float>{};
}
}  // namespace

UlyssesRing::UlyssesRing(const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
                         std::span<LocalRank> locals)
    : rt_(rt),
      layout_(layout),
      shape_(ulysses_shape(c.spec, layout.ranks())),
      all_runs_(shape_.all_runs()),
      kernel_(shape_.rank_spec(c.spec), shape_.seq),
      virtual_ranks_(locals.size() > 1) {
  const bool backward = has_backward(c.pass);
  if (backward) backward_kernel_.emplace(shape_.rank_spec(c.spec), shape_.seq);
  all_ = BlockMask{&locals.front().schedule.pattern(), all_runs_, all_runs_, 0, false};
  const auto P = static_cast<std::size_t>(shape_.ranks);
  const auto exchange =
      P * static_cast<std::size_t>(std::max(shape_.in_chunk(), shape_.out_chunk()));
  const auto head_rows = static_cast<std::size_t>(shape_.batch * shape_.rank_heads * shape_.seq);
  const auto kv_rows =
      static_cast<std::size_t>(2 * shape_.batch * shape_.rank_kv_heads * shape_.seq);
  const auto D = static_cast<std::size_t>(shape_.dim);
  for (LocalRank& l : locals)
    members_.push_back({&l, std::vector<float>(exchange), std::vector<float>(exchange),
                        std::vector<float>(head_rows * D), std::vector<float>(kv_rows * D),
                        std::vector<float>(head_rows * D), std::vector<float>(head_rows),
                        values_if(backward, head_rows * D), values_if(backward, head_rows * D),
                        values_if(backward, head_rows), values_if(backward, kv_rows * D)});
}

// Chunk for peer j: Q of this rank's tokens in j's heads [b][h][n][D], then K and V in the kv
// heads j's heads use [b][kv][n][D].
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

// Chunk from peer i: its tokens, placed at their positions in every head of the full sequence.
void UlyssesRing::unpack_in(Member& m) const {
  const UlyssesShape& u = shape_;
  for (int i = 0; i < u.ranks; ++i) {
    const float* in = m.recv.data() + i * u.in_chunk();
    in = scatter_rows(layout_, i, u, in, u.batch * u.rank_heads, u.dim, m.q.data());
    scatter_rows(layout_, i, u, in, 2 * u.batch * u.rank_kv_heads, u.dim, m.kv.data());
  }
}

void UlyssesRing::attend(Member& m) {
  kernel_.reset(m.o.data(), m.lse.data());
  kernel_.attend(m.q.data(), m.kv.data(), all_, m.o.data(), m.lse.data());
}

// Chunk for peer j: O [b][h][n][D] and LSE [b][h][n] of j's tokens in this rank's heads.
void UlyssesRing::pack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const std::int64_t planes = u.batch * u.rank_heads;
  for (int j = 0; j < u.ranks; ++j) {
    float* out = m.send.data() + j * u.out_chunk();
    out = gather_rows(layout_, j, u, m.o.data(), planes, u.dim, out);
    gather_rows(layout_, j, u, m.lse.data(), planes, 1, out);
  }
}

// Chunk from peer i: its heads (i * heads / P ...) of this rank's tokens, into O and LSE.
void UlyssesRing::unpack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  for (int i = 0; i < u.ranks; ++i) {
    const float* in = m.recv.data() + i * u.out_chunk();
    in = put_heads(in, u, u.heads, i * u.rank_heads, u.rank_heads, u.n * u.dim, buf.o, false);
    put_heads(in, u, u.heads, i * u.rank_heads, u.rank_heads, u.n, buf.lse, false);
  }
}

// Chunk for peer j: dO of this rank's tokens in j's heads, like Q's.
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
    scatter_rows(layout_, i, u, m.recv.data() + i * u.grad_in_chunk(), u.batch * u.rank_heads,
                 u.dim, m.d_o.data());
}

// The rank's heads' gradients over the whole sequence: one block, every key.
void UlyssesRing::attend_backward(Member& m) {
  const BackwardInputs in{m.q.data(), m.d_o.data(), m.o.data(), m.lse.data(), m.delta.data()};
  backward_kernel_->prepare(in, m.dq.data());
  backward_kernel_->attend_backward(in, m.kv.data(), all_, m.dq.data(), m.dkv.data());
}

// Chunk for peer j: dQ of j's tokens in this rank's heads, then dK and dV in its kv heads.
void UlyssesRing::pack_grad_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const std::int64_t kv_planes = u.batch * u.rank_kv_heads;
  for (int j = 0; j < u.ranks; ++j) {
    float* out = m.send.data() + j * u.grad_out_chunk();
    out = gather_rows(layout_, j, u, m.dq.data(), u.batch * u.rank_heads, u.dim, out);
    for (const float* part : {m.dkv.data(), m.dkv.data() + kv_planes * u.seq * u.dim})
      out = gather_rows(layout_, j, u, part, kv_planes, u.dim, out);
  }
}

// Chunk from peer i: dQ of its heads, dK and dV of its kv heads, summed where ranks share one.
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
  std::vector<double> ms;
  if (!virtual_ranks_) {
    const auto begin = std::chrono::steady_clock::now();
    all_to_all(rt_.world(), members_[0].send.data(), members_[0].recv.data(), chunk);
    return {ms_since(begin)};
  }
  // virtual ranks: each receives its chunk of every member's send
  for (std::size_t r = 0; r < members_.size(); ++r) {
    const auto begin = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < members_.size(); ++i)
      copy_floats(members_[i].send.data() + r * chunk, members_[r].recv.data() + i * chunk, 1,
                  static_cast<std::int64_t>(chunk));
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

// A ring of one exchanges with itself: its chunk for "peer 0" is its own, so the same phases
// run with a copy in place of the exchange.
std::vector<IterationTiming> UlyssesRing::run(const Phases& phases) {
  const int P = layout_.ranks();
  std::vector<IterationTiming> out(members_.size());
  std::vector<double> busy(members_.size(), 0.0);  // each member's packing and unpacking
  for (auto& t : out) {
    t.compute_ms.assign(static_cast<std::size_t>(P), 0.0);
    t.wait_ms = t.comm_ms = t.compute_ms;
  }
  auto timed = [](auto&& work) {
    const auto begin = std::chrono::steady_clock::now();
    work();
    return ms_since(begin);
  };
  auto each_member = [&](auto phase) {
    for (std::size_t k = 0; k < members_.size(); ++k)
      busy[k] += timed([&] { (this->*phase)(members_[k]); });
  };
  auto swap_in_place = [&](std::int64_t chunk) {
    if (P > 1) return exchange(static_cast<std::size_t>(chunk));
    for (Member& m : members_) std::copy_n(m.send.data(), chunk, m.recv.data());
    return std::vector<double>(members_.size(), 0.0);
  };
  each_member(phases.pack_in);
  const std::vector<double> in = swap_in_place(phases.in_chunk);
  each_member(phases.unpack_in);
  for (std::size_t k = 0; k < members_.size(); ++k)
    out[k].compute_ms[0] = timed([&] { (this->*phases.compute)(members_[k]); });
  each_member(phases.pack_out);
  const std::vector<double> back = swap_in_place(phases.out_chunk);
  each_member(phases.unpack_out);
  for (std::size_t k = 0; k < members_.size(); ++k) {
    IterationTiming& t = out[k];
    t.comm_ms[0] = t.wait_ms[0] = in[k];
    if (P > 1) t.comm_ms[1] = t.wait_ms[1] = back[k];
    t.total_ms = t.wall_ms = busy[k] + t.compute_ms[0] + in[k] + back[k];
  }
  return out;
}

}  // namespace ringbench
