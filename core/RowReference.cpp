#include "core/RowReference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/AttentionPattern.hpp"
#include "core/InputGenerator.hpp"
#include "core/PatternSpec.hpp"
#include "core/SoftmaxMerge.hpp"
#include "core/patterns/PositionMath.hpp"

namespace ringbench {

namespace {

using Runs = std::vector<PositionRun>;

// Keys a window generates: K and V of all of them stay near 64 MiB of floats (each key of a kv
// head is batch x head_dim values of K and of V).
std::int64_t window_budget(const ProblemSpec& s) {
  return std::max<std::int64_t>((std::int64_t{16} << 20) / (2 * s.batch * s.head_dim), 1);
}

// A group with fewer rows than kEnoughRows (members x batch) cuts its keys in a window into parts
// of kPartKeys, so that a few rows attending many keys still keep every thread busy. Fixed sizes:
// the partials, and so the result, do not depend on the number of threads.
constexpr std::int64_t kEnoughRows = 64;
constexpr std::int64_t kPartKeys = 2048;

// A query row (an index into q_pos) of one head.
struct Member {
  std::int64_t row = 0, head = 0;
};

// Members attending the same keys of the same kv head: each window generates them once.
struct KeyGroup {
  std::int64_t kv_head = 0;
  Runs runs;
  std::vector<Member> members;
};

std::vector<std::int64_t> group_key(std::int64_t kv_head, const Runs& runs) {
  std::vector<std::int64_t> key{kv_head};
  for (const PositionRun& r : runs) key.insert(key.end(), {r.global_start, r.length, r.stride});
  return key;
}

// The groups of the queries at q_pos over every head and branch. A row and head that two
// branches allow is two members: their partials merged by log-sum-exp are the multiplicity.
std::vector<KeyGroup> key_groups(const ProblemSpec& s, const AttentionPattern& p,
                                 std::span<const std::int64_t> q_pos) {
  const std::int64_t heads_per_kv = s.heads / s.effective_kv_heads();
  // heads h and h + head_period() attend the same keys: the pattern is asked once a period
  const std::int64_t period = std::min<std::int64_t>(s.heads, std::max(1, p.head_period()));
  std::map<std::vector<std::int64_t>, std::size_t> index;  // group_key -> group
  std::vector<KeyGroup> groups;
  std::vector<Runs> by_head(static_cast<std::size_t>(period));
  for (std::size_t row = 0; row < q_pos.size(); ++row)
    for (int branch = 0; branch < p.branches(); ++branch) {
      for (std::int64_t h = 0; h < period; ++h)
        by_head[h] = p.allowed_keys(q_pos[row], static_cast<int>(h), branch, s.seq_len);
      for (std::int64_t h = 0; h < s.heads; ++h) {
        const Runs& runs = by_head[h % period];
        if (runs.empty()) continue;
        const std::int64_t kv_head = h / heads_per_kv;
        const auto [it, fresh] = index.try_emplace(group_key(kv_head, runs), groups.size());
        if (fresh) groups.push_back({kv_head, runs, {}});
        groups[it->second].members.push_back({static_cast<std::int64_t>(row), h});
      }
    }
  return groups;
}

// At least the keys a window lo..hi generates: per kv head, its groups' keys there (a key two
// groups share counted twice), but never more than the window's positions.
std::int64_t keys_in_window(const std::vector<KeyGroup>& groups, std::int64_t kv_heads,
                            std::int64_t lo, std::int64_t hi) {
  std::vector<std::int64_t> per_head(static_cast<std::size_t>(kv_heads), 0);
  for (const KeyGroup& g : groups)
    for (const PositionRun& r : g.runs) per_head[g.kv_head] += count_in(r, lo, hi);
  std::int64_t n = 0;
  for (const std::int64_t keys : per_head) n += std::min(keys, hi - lo + 1);
  return n;
}

// The last position of the window from lo: the farthest one whose window stays within the
// budget (lo itself at least), by bisection. Gaps no group attends cost nothing.
std::int64_t window_end(const std::vector<KeyGroup>& groups, std::int64_t kv_heads, std::int64_t lo,
                        std::int64_t seq_len, std::int64_t budget) {
  std::int64_t fits = lo, beyond = seq_len - 1;
  if (keys_in_window(groups, kv_heads, lo, beyond) <= budget) return beyond;
  while (beyond - fits > 1) {  // window to `fits` within budget (or only lo), to `beyond` not
    const std::int64_t mid = fits + (beyond - fits) / 2;
    if (keys_in_window(groups, kv_heads, lo, mid) <= budget)
      fits = mid;
    else
      beyond = mid;
  }
  return fits;
}

// K or V of one kv head at `positions`, [batch][positions][head_dim]: input_value, as
// generate_tensor gives it, but only for the kv head needed and parallel over the positions
// (generate_tensor's threads split batch and heads, one of each here).
std::vector<float> generate_head(TensorRole role, std::uint64_t seed, const ProblemSpec& s,
                                 std::int64_t kv_head, std::span<const std::int64_t> positions) {
  const auto n = static_cast<std::int64_t>(positions.size());
  const std::int64_t D = s.head_dim;
  std::vector<float> out(static_cast<std::size_t>(s.batch * n * D));
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < s.batch; ++b)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t d = 0; d < D; ++d)
        out[(b * n + i) * D + d] = input_value(role, seed, s, b, kv_head, positions[i], d);
  return out;
}

// The keys of one kv head a window's groups need, ascending, with K and V there.
struct KeyBlock {
  std::vector<std::int64_t> positions;
  std::vector<float> k, v;  // [batch][positions][head_dim]
};

// One window of keys: a block per kv head (empty where no group reads it), and each group's keys
// in the window as indices into its kv head's block.
struct Window {
  std::vector<KeyBlock> blocks;
  std::vector<std::vector<std::int64_t>> index;
};

Window make_window(const ProblemSpec& s, std::uint64_t seed, const std::vector<KeyGroup>& groups,
                   std::int64_t lo, std::int64_t hi) {
  Window w{std::vector<KeyBlock>(static_cast<std::size_t>(s.effective_kv_heads())),
           std::vector<std::vector<std::int64_t>>(groups.size())};
  std::vector<std::vector<std::int64_t>> keys(groups.size());  // each group's positions
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const PositionRun& r : groups[g].runs) {
      const PositionRun in = restrict_to(r, lo, hi);
      for (std::int64_t i = 0; i < in.length; ++i)
        keys[g].push_back(in.global_start + i * in.stride);
    }
    auto& block = w.blocks[groups[g].kv_head].positions;
    block.insert(block.end(), keys[g].begin(), keys[g].end());
  }
  for (std::size_t h = 0; h < w.blocks.size(); ++h) {
    KeyBlock& block = w.blocks[h];
    std::sort(block.positions.begin(), block.positions.end());
    block.positions.erase(std::unique(block.positions.begin(), block.positions.end()),
                          block.positions.end());
    block.k = generate_head(TensorRole::k, seed, s, static_cast<std::int64_t>(h), block.positions);
    block.v = generate_head(TensorRole::v, seed, s, static_cast<std::int64_t>(h), block.positions);
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& positions = w.blocks[groups[g].kv_head].positions;
    for (const std::int64_t p : keys[g])
      w.index[g].push_back(std::lower_bound(positions.begin(), positions.end(), p) -
                           positions.begin());
  }
  return w;
}

// One partial softmax: a member of a group, in one batch, over the group's window keys
// [first, last) (indices into Window::index).
struct Task {
  std::size_t group = 0, member = 0;
  std::int64_t batch = 0, first = 0, last = 0;
};

std::vector<Task> window_tasks(const std::vector<KeyGroup>& groups, const Window& w,
                               std::int64_t batch) {
  std::vector<Task> tasks;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto n = static_cast<std::int64_t>(w.index[g].size());
    const auto members = static_cast<std::int64_t>(groups[g].members.size());
    if (n == 0) continue;
    const std::int64_t part = members * batch >= kEnoughRows ? n : kPartKeys;
    for (std::size_t m = 0; m < groups[g].members.size(); ++m)
      for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t first = 0; first < n; first += part)
          tasks.push_back({g, m, b, first, std::min(n, first + part)});
  }
  return tasks;
}

// The partial of one row (q, float64) over the keys `index` of K and V ([keys][dim]): normalized
// O and LSE, in two passes as reference_attention (the max score, then the exp-sums).
void row_partial(const double* q, const float* k, const float* v,
                 std::span<const std::int64_t> index, std::int64_t dim, double scale, double* o,
                 double& lse) {
  std::vector<double> s(index.size());
  double max_s = -std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j < index.size(); ++j) {
    const float* kj = k + index[j] * dim;
    double dot = 0.0;
    for (std::int64_t d = 0; d < dim; ++d) dot += q[d] * double(kj[d]);
    s[j] = dot * scale;
    max_s = std::max(max_s, s[j]);
  }
  std::fill_n(o, dim, 0.0);
  double sum = 0.0;
  for (std::size_t j = 0; j < index.size(); ++j) {
    const double p = std::exp(s[j] - max_s);
    const float* vj = v + index[j] * dim;
    sum += p;
    for (std::int64_t d = 0; d < dim; ++d) o[d] += p * double(vj[d]);
  }
  for (std::int64_t d = 0; d < dim; ++d) o[d] /= sum;
  lse = max_s + std::log(sum);
}

// Every member's partial over the window lo..hi, merged into `ref`.
void add_window(const ProblemSpec& s, std::uint64_t seed, const std::vector<KeyGroup>& groups,
                std::int64_t lo, std::int64_t hi, std::span<const double> q, std::int64_t rows,
                RowReference& ref) {
  const Window w = make_window(s, seed, groups, lo, hi);
  const std::vector<Task> tasks = window_tasks(groups, w, s.batch);
  const std::int64_t D = s.head_dim, H = s.heads, count = static_cast<std::int64_t>(tasks.size());
  std::vector<double> o(static_cast<std::size_t>(count * D)), lse(static_cast<std::size_t>(count));
  const auto row_of = [&](const Task& t) {
    const Member& m = groups[t.group].members[t.member];
    return (t.batch * H + m.head) * rows + m.row;
  };
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t i = 0; i < count; ++i) {
    const Task& t = tasks[i];
    const KeyBlock& block = w.blocks[groups[t.group].kv_head];
    const std::int64_t offset = t.batch * static_cast<std::int64_t>(block.positions.size()) * D;
    const std::span<const std::int64_t> index(w.index[t.group].data() + t.first,
                                              static_cast<std::size_t>(t.last - t.first));
    row_partial(q.data() + row_of(t) * D, block.k.data() + offset, block.v.data() + offset, index,
                D, s.scale(), o.data() + i * D, lse[i]);
  }
  // in task order, on one thread: the same sums whatever the number of threads
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t row = row_of(tasks[i]);
    merge_row(ref.o.data() + row * D, ref.lse[row], o.data() + i * D, lse[i], D);
  }
}

}  // namespace

RowReference reference_rows(const ProblemSpec& s, std::uint64_t seed, std::span<const float> q,
                            std::span<const std::int64_t> q_pos, std::int64_t window_keys) {
  const auto rows = static_cast<std::int64_t>(q_pos.size());
  const std::int64_t BH = s.batch * s.heads;
  RowReference ref{std::vector<double>(static_cast<std::size_t>(BH * rows * s.head_dim), 0.0),
                   std::vector<double>(static_cast<std::size_t>(BH * rows),
                                       -std::numeric_limits<double>::infinity())};
  const auto pattern = make_pattern(s.mask, s.seq_len);
  const std::vector<KeyGroup> groups = key_groups(s, *pattern, q_pos);
  if (groups.empty()) return ref;  // no branch selects any sampled row: all stay empty
  const std::vector<double> q64(q.begin(), q.end());
  const std::int64_t budget = window_keys > 0 ? window_keys : window_budget(s);
  for (std::int64_t lo = 0; lo < s.seq_len;) {
    const std::int64_t hi = window_end(groups, s.effective_kv_heads(), lo, s.seq_len, budget);
    add_window(s, seed, groups, lo, hi, q64, rows, ref);
    lo = hi + 1;
  }
  return ref;
}

}  // namespace ringbench
