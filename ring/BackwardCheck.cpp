#include "ring/BackwardCheck.hpp"

#include <algorithm>
#include <numeric>

#include "core/InputGenerator.hpp"
#include "core/ReferenceBackward.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/MpiCheck.hpp"

namespace ringbench {

namespace {

std::vector<float> tensor_at(TensorRole role, const BenchmarkCase& c,
                             std::span<const std::int64_t> positions) {
  std::vector<float> t(
      static_cast<std::size_t>(c.spec.batch * heads_of(role, c.spec) * c.spec.head_dim) *
      positions.size());
  generate_tensor(role, c.seed, c.spec, positions, t);
  return t;
}

// Inputs of one ring rank's tokens, or of the whole sequence.
struct Tokens {
  std::vector<std::int64_t> pos;
  std::vector<float> q, d_o, k, v;

  Tokens(const BenchmarkCase& c, std::vector<std::int64_t> positions)
      : pos(std::move(positions)),
        q(tensor_at(TensorRole::q, c, pos)),
        d_o(tensor_at(TensorRole::d_o, c, pos)),
        k(tensor_at(TensorRole::k, c, pos)),
        v(tensor_at(TensorRole::v, c, pos)) {}
  QueryRows queries(const RowStats* stats) const { return {q, d_o, pos, stats}; }
  KeyRows keys() const { return {k, v, pos}; }
};

// Every query's statistics from each rank's own rows ([batch*heads, rows] in the rank's order):
// placed by position, then summed over the ranks (each row has exactly one owner).
RowStats gather_rows(const BenchmarkCase& c, const MpiRuntime& rt,
                     const std::vector<std::vector<std::int64_t>>& positions,
                     const std::vector<RowStats>& mine) {
  const std::int64_t BH = c.spec.batch * c.spec.heads, S = c.spec.seq_len;
  RowStats global{std::vector<double>(static_cast<std::size_t>(BH * S), 0.0),
                  std::vector<double>(static_cast<std::size_t>(BH * S), 0.0)};
  for (std::size_t l = 0; l < mine.size(); ++l) {
    const auto& pos = positions[l];
    const auto n = static_cast<std::int64_t>(pos.size());
    for (std::int64_t bh = 0; bh < BH; ++bh)
      for (std::int64_t i = 0; i < n; ++i) {
        const auto src = static_cast<std::size_t>(bh * n + i),
                   dst = static_cast<std::size_t>(bh * S + pos[static_cast<std::size_t>(i)]);
        global.lse[dst] = mine[l].lse[src];
        global.delta[dst] = mine[l].delta[src];
      }
  }
  for (auto* v : {&global.lse, &global.delta}) sum_all(rt.world(), std::span<double>(*v));
  return global;
}

GradientErrors sum_over_ranks(const MpiRuntime& rt, GradientSums s) {
  for (FrobeniusSums* f : {&s.dq, &s.dk, &s.dv}) {
    f->diff2 = sum_all(rt.world(), f->diff2);
    f->ref2 = sum_all(rt.world(), f->ref2);
  }
  return {s.dq.relative(), s.dk.relative(), s.dv.relative()};
}

// Work of the host reference (pairs x heads x head dim) above which a device reference is used
// where every rank has one: beyond it the float64 host reference takes minutes.
constexpr double kHostReferenceWork = 1e10;

bool on_device(const BenchmarkCase& c, const MpiRuntime& rt, const std::vector<LocalRank>& locals) {
  const double work = double(c.spec.seq_len) * double(c.spec.seq_len) * double(c.spec.heads) *
                      double(c.spec.head_dim);
  bool all_have = true;
  for (const auto& l : locals) all_have &= l.backend->has_device_reference();
  return work > kHostReferenceWork && all_true(rt.world(), all_have);
}

GradientErrors check_on_device(const BenchmarkCase& c, const SequenceLayout& layout,
                               const MpiRuntime& rt, std::vector<LocalRank>& locals) {
  std::vector<std::vector<std::int64_t>> positions;
  std::vector<RowStats> mine;
  for (const auto& l : locals) {
    positions.push_back(layout.positions(l.rank));
    mine.push_back(l.backend->device_reference_row_stats(c.seed));
  }
  const RowStats all = gather_rows(c, rt, positions, mine);
  GradientSums sums;
  for (const auto& l : locals) {
    const GradientSums s = l.backend->compare_gradients_on_device(c.seed, all);
    for (auto [to, from] : {std::pair{&sums.dq, &s.dq}, {&sums.dk, &s.dk}, {&sums.dv, &s.dv}}) {
      to->diff2 += from->diff2;
      to->ref2 += from->ref2;
    }
  }
  return sum_over_ranks(rt, sums);
}

}  // namespace

GradientErrors check_gradients(const BenchmarkCase& c, const SequenceLayout& layout,
                               const MpiRuntime& rt, std::vector<LocalRank>& locals) {
  if (on_device(c, rt, locals)) return check_on_device(c, layout, rt, locals);
  std::vector<std::int64_t> every(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(every.begin(), every.end(), 0);
  const Tokens all(c, every);
  std::vector<Tokens> mine;
  std::vector<std::vector<std::int64_t>> positions;
  std::vector<RowStats> mine_stats;
  for (const auto& l : locals) {
    mine.emplace_back(c, layout.positions(l.rank));
    positions.push_back(mine.back().pos);
    mine_stats.push_back(reference_row_stats(c.spec, mine.back().queries(nullptr), all.keys()));
  }
  const RowStats all_stats = gather_rows(c, rt, positions, mine_stats);

  GradientSums sums;
  for (std::size_t i = 0; i < locals.size(); ++i) {
    const GradientResult got = locals[i].backend->read_gradients();
    const std::vector<double> dq_ref =
        reference_dq(c.spec, mine[i].queries(&mine_stats[i]), all.keys());
    const KeyGradients dkv_ref = reference_dkv(c.spec, all.queries(&all_stats), mine[i].keys());
    sums.dq.add(std::span<const float>(got.dq), std::span<const double>(dq_ref));
    sums.dk.add(std::span<const float>(got.dk), std::span<const double>(dkv_ref.dk));
    sums.dv.add(std::span<const float>(got.dv), std::span<const double>(dkv_ref.dv));
  }
  return sum_over_ranks(rt, sums);
}

}  // namespace ringbench
