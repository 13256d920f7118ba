#include "ring/BackwardCheck.hpp"

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

// Every query's statistics: each rank computes its own rows against all keys, then the ranks sum
// the rows (each has exactly one owner; the others add zero).
RowStats global_stats(const BenchmarkCase& c, const MpiRuntime& rt, const Tokens& all,
                      const std::vector<Tokens>& mine, std::vector<RowStats>& mine_stats) {
  const std::int64_t BH = c.spec.batch * c.spec.heads, S = c.spec.seq_len;
  RowStats global{std::vector<double>(static_cast<std::size_t>(BH * S), 0.0),
                  std::vector<double>(static_cast<std::size_t>(BH * S), 0.0)};
  for (const Tokens& t : mine) {
    mine_stats.push_back(reference_row_stats(c.spec, t.queries(nullptr), all.keys()));
    const auto n = static_cast<std::int64_t>(t.pos.size());
    for (std::int64_t bh = 0; bh < BH; ++bh)
      for (std::int64_t i = 0; i < n; ++i) {
        const auto src = static_cast<std::size_t>(bh * n + i),
                   dst = static_cast<std::size_t>(bh * S + t.pos[i]);
        global.lse[dst] = mine_stats.back().lse[src];
        global.delta[dst] = mine_stats.back().delta[src];
      }
  }
  for (auto* v : {&global.lse, &global.delta})
    RINGBENCH_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, v->data(), static_cast<int>(v->size()),
                                      MPI_DOUBLE, MPI_SUM, rt.world()));
  return global;
}

}  // namespace

GradientErrors check_gradients(const BenchmarkCase& c, const SequenceLayout& layout,
                               const MpiRuntime& rt, std::vector<LocalRank>& locals) {
  std::vector<std::int64_t> every(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(every.begin(), every.end(), 0);
  const Tokens all(c, every);
  std::vector<Tokens> mine;
  for (const auto& l : locals) mine.emplace_back(c, layout.positions(l.rank));
  std::vector<RowStats> mine_stats;
  const RowStats all_stats = global_stats(c, rt, all, mine, mine_stats);

  FrobeniusSums dq, dk, dv;
  for (std::size_t i = 0; i < locals.size(); ++i) {
    const GradientResult got = locals[i].backend->read_gradients();
    const std::vector<double> dq_ref =
        reference_dq(c.spec, mine[i].queries(&mine_stats[i]), all.keys());
    const KeyGradients dkv_ref = reference_dkv(c.spec, all.queries(&all_stats), mine[i].keys());
    dq.add(std::span<const float>(got.dq), std::span<const double>(dq_ref));
    dk.add(std::span<const float>(got.dk), std::span<const double>(dkv_ref.dk));
    dv.add(std::span<const float>(got.dv), std::span<const double>(dkv_ref.dv));
  }
  for (FrobeniusSums* s : {&dq, &dk, &dv}) {
    s->diff2 = sum_all(rt.world(), s->diff2);
    s->ref2 = sum_all(rt.world(), s->ref2);
  }
  return {dq.relative(), dk.relative(), dv.relative()};
}

}  // namespace ringbench
