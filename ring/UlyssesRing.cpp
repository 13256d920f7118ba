#include "ring/UlyssesRing.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

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

std::size_t ulysses_host_bytes(const BenchmarkCase& c, int ranks) {
  return static_cast<std::size_t>(ulysses_shape(c.spec, ranks).held_values()) * sizeof(float);
}

UlyssesRing::UlyssesRing(const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
                         std::span<LocalRank> locals)
    : rt_(rt),
      layout_(layout),
      shape_(ulysses_shape(c.spec, layout.ranks())),
      all_runs_(shape_.all_runs()),
      kernel_(shape_.rank_spec(c.spec), shape_.seq),
      virtual_ranks_(locals.size() > 1) {
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
                        std::vector<float>(head_rows * D), std::vector<float>(head_rows)});
}

std::size_t UlyssesRing::bytes_per_rank() const {
  return static_cast<std::size_t>(shape_.held_values()) * sizeof(float);
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
    for (std::int64_t b = 0; b < u.batch; ++b, out += u.rank_heads * nd)
      copy_floats(q + (b * u.heads + j * u.rank_heads) * nd, out, u.rank_heads, nd);
    for (const float* part : {kv, kv + half})
      for (std::int64_t b = 0; b < u.batch; ++b, out += u.rank_kv_heads * nd)
        copy_floats(part + (b * u.kv_heads + u.kv_first(j)) * nd, out, u.rank_kv_heads, nd);
  }
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

// Chunk from peer i: its tokens, placed at their positions in every head of the full sequence.
void UlyssesRing::unpack_in(Member& m) const {
  const UlyssesShape& u = shape_;
  const std::int64_t nd = u.n * u.dim, sd = u.seq * u.dim, D = u.dim;
  for (int i = 0; i < u.ranks; ++i) {
    const float* in = m.recv.data() + i * u.in_chunk();
    auto place = [&](float* to, std::int64_t planes) {
      for (std::int64_t p = 0; p < planes; ++p, in += nd)
        for_each_run(layout_, i, [&](std::int64_t local, std::int64_t row, std::int64_t rows) {
          copy_floats(in + local * D, to + p * sd + row * D, rows, D);
        });
    };
    place(m.q.data(), u.batch * u.rank_heads);
    place(m.kv.data(), 2 * u.batch * u.rank_kv_heads);
  }
}

// Chunk for peer j: O [b][h][n][D] and LSE [b][h][n] of j's tokens in this rank's heads.
void UlyssesRing::pack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const std::int64_t nd = u.n * u.dim, sd = u.seq * u.dim, rows = u.batch * u.rank_heads;
  for (int j = 0; j < u.ranks; ++j) {
    float* out = m.send.data() + j * u.out_chunk();
    for (std::int64_t bh = 0; bh < rows; ++bh, out += nd)
      for_each_run(layout_, j, [&](std::int64_t local, std::int64_t row, std::int64_t count) {
        copy_floats(m.o.data() + bh * sd + row * u.dim, out + local * u.dim, count, u.dim);
      });
    for (std::int64_t bh = 0; bh < rows; ++bh, out += u.n)
      for_each_run(layout_, j, [&](std::int64_t local, std::int64_t row, std::int64_t count) {
        copy_floats(m.lse.data() + bh * u.seq + row, out + local, count, 1);
      });
  }
}

// Chunk from peer i: its heads (i * heads / P ...) of this rank's tokens, into O and LSE.
void UlyssesRing::unpack_out(Member& m) const {
  const UlyssesShape& u = shape_;
  const RankBuffers& buf = m.local->backend->buffers();
  const std::int64_t nd = u.n * u.dim;
  for (int i = 0; i < u.ranks; ++i) {
    const float* in = m.recv.data() + i * u.out_chunk();
    for (std::int64_t b = 0; b < u.batch; ++b, in += u.rank_heads * nd)
      copy_floats(in, buf.o + (b * u.heads + i * u.rank_heads) * nd, u.rank_heads, nd);
    for (std::int64_t b = 0; b < u.batch; ++b, in += u.rank_heads * u.n)
      copy_floats(in, buf.lse + (b * u.heads + i * u.rank_heads) * u.n, u.rank_heads, u.n);
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
  const int P = layout_.ranks();
  std::vector<IterationTiming> out(members_.size());
  std::vector<double> busy(members_.size(), 0.0);  // each member's packing and compute
  for (auto& t : out) {
    t.compute_ms.assign(static_cast<std::size_t>(P), 0.0);
    t.wait_ms = t.comm_ms = t.compute_ms;
  }
  auto timed = [](auto&& work) {
    const auto begin = std::chrono::steady_clock::now();
    work();
    return ms_since(begin);
  };
  for (std::size_t k = 0; k < members_.size(); ++k) busy[k] += timed([&] { pack_in(members_[k]); });
  const std::vector<double> in = P > 1 ? exchange(static_cast<std::size_t>(shape_.in_chunk()))
                                       : std::vector<double>(members_.size(), 0.0);
  const BlockMask all{&members_[0].local->schedule.pattern(), all_runs_, all_runs_, 0, false};
  for (std::size_t k = 0; k < members_.size(); ++k) {
    Member& m = members_[k];
    if (P > 1)
      busy[k] += timed([&] { unpack_in(m); });
    else  // one rank: its shard is the whole sequence, in its own heads
      busy[k] += timed([&] {
        std::copy_n(static_cast<const float*>(m.local->backend->buffers().q), m.q.size(),
                    m.q.data());
        std::copy_n(static_cast<const float*>(m.local->backend->buffers().kv_local), m.kv.size(),
                    m.kv.data());
      });
    out[k].compute_ms[0] = timed([&] {
      kernel_.reset(m.o.data(), m.lse.data());
      kernel_.attend(m.q.data(), m.kv.data(), all, m.o.data(), m.lse.data());
    });
    busy[k] += timed([&] { pack_out(m); });
  }
  const std::vector<double> back = P > 1 ? exchange(static_cast<std::size_t>(shape_.out_chunk()))
                                         : std::vector<double>(members_.size(), 0.0);
  for (std::size_t k = 0; k < members_.size(); ++k) {
    if (P > 1)
      busy[k] += timed([&] { unpack_out(members_[k]); });
    else {
      const RankBuffers& buf = members_[k].local->backend->buffers();
      std::copy_n(members_[k].o.data(), members_[k].o.size(), buf.o);
      std::copy_n(members_[k].lse.data(), members_[k].lse.size(), buf.lse);
    }
    IterationTiming& t = out[k];
    t.comm_ms[0] = t.wait_ms[0] = in[k];
    if (P > 1) t.comm_ms[1] = t.wait_ms[1] = back[k];
    t.total_ms = t.wall_ms = busy[k] + t.compute_ms[0] + in[k] + back[k];
  }
  return out;
}

}  // namespace ringbench
