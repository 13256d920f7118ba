// The numerical core of the backward pass: the float64 reference gradients (checked against finite
// differences of the reference forward) and the CPU backward kernel (checked against the reference
// on blocks with tails, GQA, masks and the positions of every layout).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/InputGenerator.hpp"
#include "core/ReferenceAttention.hpp"
#include "core/ReferenceBackward.hpp"
#include "core/SequenceLayout.hpp"
#include "ring/cpu/CpuBackwardKernel.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

std::vector<std::int64_t> iota(std::int64_t from, std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

std::vector<float> generated(TensorRole role, const ProblemSpec& spec,
                             const std::vector<std::int64_t>& pos) {
  std::vector<float> t(static_cast<std::size_t>(spec.batch * heads_of(role, spec) * spec.head_dim) *
                       pos.size());
  generate_tensor(role, 11, spec, pos, t);
  return t;
}

// Queries (with dO) and keys of one problem, at given positions.
struct Problem {
  ProblemSpec spec;
  std::vector<std::int64_t> qpos, kpos;
  std::vector<float> q, d_o, k, v;

  Problem(const ProblemSpec& s, std::vector<std::int64_t> query_pos,
          std::vector<std::int64_t> key_pos)
      : spec(s),
        qpos(std::move(query_pos)),
        kpos(std::move(key_pos)),
        q(generated(TensorRole::q, s, qpos)),
        d_o(generated(TensorRole::d_o, s, qpos)),
        k(generated(TensorRole::k, s, kpos)),
        v(generated(TensorRole::v, s, kpos)) {}

  QueryRows queries(const RowStats* stats = nullptr) const { return {q, d_o, qpos, stats}; }
  KeyRows keys() const { return {k, v, kpos}; }

  // The loss whose gradients the backward computes: L = sum(dO ∘ O), O from the float64 reference.
  double loss() const {
    const AttentionResult r = reference_attention(spec, q, qpos, k, v, kpos);
    double l = 0;
    for (std::size_t i = 0; i < r.o.size(); ++i) l += double(d_o[i]) * double(r.o[i]);
    return l;
  }
};

// dL/dx[i] by a central difference.
double numeric_gradient(Problem& p, std::vector<float>& x, std::size_t i) {
  const float h = 1.0f / 64, saved = x[i];
  x[i] = saved + h;
  const double up = p.loss();
  x[i] = saved - h;
  const double down = p.loss();
  x[i] = saved;
  return (up - down) / (2.0 * double(h));
}

void require_close(const std::vector<double>& analytic, Problem& p, std::vector<float>& x) {
  double scale = 0;
  for (double g : analytic) scale = std::max(scale, std::abs(g));
  REQUIRE(scale > 1e-3);  // a vanishing gradient would prove nothing
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i);
    REQUIRE(analytic[i] == Approx(numeric_gradient(p, x, i)).margin(2e-3 * scale));
  }
}

double rel_err(const std::vector<float>& got, const std::vector<double>& ref) {
  FrobeniusSums s;
  s.add(std::span<const float>(got), std::span<const double>(ref));
  return s.relative();
}

}  // namespace

TEST_CASE("reference gradients equal finite differences of the reference forward",
          "[backward][reference]") {
  for (const std::string mask : {"none", "causal"}) {
    ProblemSpec spec;
    spec.heads = 2;
    spec.kv_heads = 1;  // GQA: dK, dV sum over both query heads
    spec.head_dim = 8;
    spec.seq_len = 7;
    spec.mask = mask;
    const auto pos = iota(0, spec.seq_len);
    Problem p(spec, pos, pos);
    const RowStats stats = reference_row_stats(spec, p.queries(), p.keys());
    const std::vector<double> dq = reference_dq(spec, p.queries(&stats), p.keys());
    const KeyGradients dkv = reference_dkv(spec, p.queries(&stats), p.keys());
    INFO("mask " << mask);
    require_close(dq, p, p.q);
    require_close(dkv.dk, p, p.k);
    require_close(dkv.dv, p, p.v);
  }
}

TEST_CASE("reference gradients split over queries and keys add up to the whole",
          "[backward][reference]") {
  ProblemSpec spec;
  spec.heads = 2;
  spec.head_dim = 16;
  spec.seq_len = 24;
  spec.mask = "causal";
  const auto all = iota(0, spec.seq_len);
  const Problem whole(spec, all, all);
  const RowStats stats = reference_row_stats(spec, whole.queries(), whole.keys());
  const KeyGradients full = reference_dkv(spec, whole.queries(&stats), whole.keys());
  // the zigzag shards of two ranks: each rank's queries contribute their share of every key
  const SequenceLayout layout(LayoutKind::zigzag, spec.seq_len, 2);
  std::vector<double> summed(full.dk.size(), 0.0);
  for (int r = 0; r < 2; ++r) {
    const Problem part(spec, layout.positions(r), all);
    const RowStats own = reference_row_stats(spec, part.queries(), part.keys());
    const KeyGradients share = reference_dkv(spec, part.queries(&own), part.keys());
    for (std::size_t i = 0; i < summed.size(); ++i) summed[i] += share.dk[i];
  }
  for (std::size_t i = 0; i < summed.size(); ++i)
    REQUIRE(summed[i] == Approx(full.dk[i]).margin(1e-12));
}

TEST_CASE("the CPU backward kernel equals the reference on one block", "[backward][kernel]") {
  struct Shape {
    std::int64_t heads, kv_heads, head_dim, n;
  };
  // 38, 70 and 34 rows: tiles with tails in both directions (even: zigzag splits a rank's rows)
  for (auto shape : {Shape{3, 1, 32, 38}, Shape{4, 2, 64, 70}, Shape{2, 2, 128, 34}})
    for (const std::string mask : {"none", "causal"})
      for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped})
        for (auto [qr, kr] : {std::pair{1, 0}, std::pair{0, 1}}) {
          ProblemSpec spec;
          spec.batch = 2;
          spec.heads = shape.heads;
          spec.kv_heads = shape.kv_heads;
          spec.head_dim = shape.head_dim;
          spec.mask = mask;
          spec.seq_len = 2 * shape.n;
          // one rank's queries against the other's keys: under causal partially masked blocks, rows
          // that see no key at all (zigzag, striped) and, contiguous 0 <- 1, nothing allowed
          const SequenceLayout l(layout, spec.seq_len, 2);
          const Problem p(spec, l.positions(qr), l.positions(kr));
          const RowStats stats = reference_row_stats(spec, p.queries(), p.keys());
          const AttentionResult fwd = reference_attention(spec, p.q, p.qpos, p.k, p.v, p.kpos);
          std::vector<float> kv(p.k);
          kv.insert(kv.end(), p.v.begin(), p.v.end());
          std::vector<float> dq(p.q.size(), 0.0f), delta(fwd.lse.size()),
              dkv(kv.size(), 99.0f);  // dkv: written
          CpuBackwardKernel kernel(spec, shape.n);
          const BackwardInputs in{p.q.data(), p.d_o.data(), fwd.o.data(), fwd.lse.data(),
                                  delta.data()};
          kernel.prepare(in, dq.data());
          const FullPattern full;
          const CausalPattern causal;
          const AttentionPattern* pattern =
              mask == "causal" ? static_cast<const AttentionPattern*>(&causal) : &full;
          const BlockMask m{pattern, l.runs(qr), l.runs(kr), kr};
          kernel.attend_backward(in, kv.data(), m, dq.data(), dkv.data());

          const std::vector<double> dq_ref = reference_dq(spec, p.queries(&stats), p.keys());
          const KeyGradients dkv_ref = reference_dkv(spec, p.queries(&stats), p.keys());
          const std::size_t half = dkv.size() / 2;
          INFO("heads " << shape.heads << "/" << shape.kv_heads << " dim " << shape.head_dim
                        << " mask " << mask << " layout " << to_string(layout) << " q " << qr
                        << " k " << kr);
          REQUIRE(rel_err(dq, dq_ref) < 2e-6);
          REQUIRE(rel_err({dkv.begin(), dkv.begin() + half}, dkv_ref.dk) < 2e-6);
          REQUIRE(rel_err({dkv.begin() + half, dkv.end()}, dkv_ref.dv) < 2e-6);
        }
}

TEST_CASE("the CPU backward kernel adds dQ over blocks and leaves unattended rows at zero",
          "[backward][kernel]") {
  ProblemSpec spec;
  spec.heads = 2;
  spec.head_dim = 32;
  spec.seq_len = 128;
  spec.mask = "causal";
  const std::int64_t n = 64;
  // queries 0..63 against keys 32..95 then 96..127 + 0..31 (as two blocks of 64): rows 0..31 see
  // no key of the first block, and dQ must sum both blocks' contributions
  const auto qpos = iota(0, n);
  const std::vector<std::vector<std::int64_t>> blocks{iota(32, n), [&] {
                                                        auto b = iota(0, 32);
                                                        auto tail = iota(96, 32);
                                                        b.insert(b.end(), tail.begin(), tail.end());
                                                        return b;
                                                      }()};
  std::vector<std::int64_t> all_keys;
  for (const auto& b : blocks) all_keys.insert(all_keys.end(), b.begin(), b.end());
  const Problem whole(spec, qpos, all_keys);
  const RowStats stats = reference_row_stats(spec, whole.queries(), whole.keys());
  const AttentionResult fwd = reference_attention(spec, whole.q, qpos, whole.k, whole.v, all_keys);
  std::vector<float> dq(whole.q.size()), delta(fwd.lse.size());
  CpuBackwardKernel kernel(spec, n);
  const BackwardInputs in{whole.q.data(), whole.d_o.data(), fwd.o.data(), fwd.lse.data(),
                          delta.data()};
  kernel.prepare(in, dq.data());
  const CausalPattern causal;
  const PositionRun q_run{0, 0, n, 1};
  const std::vector<PositionRun> runs[2] = {{{0, 32, n, 1}}, {{0, 0, 32, 1}, {32, 96, 32, 1}}};
  std::vector<double> dk_ref_all = reference_dkv(spec, whole.queries(&stats), whole.keys()).dk;
  for (int b = 0; b < 2; ++b) {
    const Problem block(spec, qpos, blocks[b]);
    std::vector<float> kv(block.k);
    kv.insert(kv.end(), block.v.begin(), block.v.end());
    std::vector<float> dkv(kv.size());
    kernel.attend_backward(in, kv.data(), {&causal, {&q_run, 1}, runs[b], b}, dq.data(),
                           dkv.data());
    const std::size_t half = dkv.size() / 2;
    // this block's keys' dK: the whole problem's rows for them (keys 32..95, then 0..31, 96..127)
    std::vector<double> dk_ref;
    for (std::int64_t h = 0; h < spec.heads; ++h)
      for (std::int64_t j = 0; j < n; ++j) {
        const auto row = static_cast<std::size_t>((h * 2 * n + b * n + j) * spec.head_dim);
        dk_ref.insert(dk_ref.end(), dk_ref_all.begin() + static_cast<std::ptrdiff_t>(row),
                      dk_ref_all.begin() + static_cast<std::ptrdiff_t>(row + spec.head_dim));
      }
    REQUIRE(rel_err({dkv.begin(), dkv.begin() + half}, dk_ref) < 2e-6);
  }
  REQUIRE(rel_err(dq, reference_dq(spec, whole.queries(&stats), whole.keys())) < 2e-6);
  std::vector<float> acc{1, 2, 3}, part{0.5f, -2, 1};
  kernel.accumulate(acc.data(), part.data(), acc.size());
  REQUIRE(acc == std::vector<float>{1.5f, 0, 4});
}
