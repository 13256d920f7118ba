#include "core/ReferenceBackward.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/PatternSpec.hpp"

namespace ringbench {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double dot(const float* a, const float* b, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t d = 0; d < n; ++d) s += double(a[d]) * double(b[d]);
  return s;
}

// Row-major views of the tensors of one (batch, head): the rows of a query head or a kv head.
struct Layout {
  std::int64_t D, H, Hkv, nq, nk;
  std::size_t q_row(std::int64_t b, std::int64_t h, std::int64_t i) const {
    return static_cast<std::size_t>(((b * H + h) * nq + i) * D);
  }
  std::size_t k_row(std::int64_t b, std::int64_t kvh, std::int64_t j) const {
    return static_cast<std::size_t>(((b * Hkv + kvh) * nk + j) * D);
  }
  std::size_t stat(std::int64_t b, std::int64_t h, std::int64_t i) const {
    return static_cast<std::size_t>((b * H + h) * nq + i);
  }
};

Layout layout_of(const ProblemSpec& spec, const QueryRows& q, const KeyRows& k) {
  const Layout l{spec.head_dim, spec.heads, spec.effective_kv_heads(),
                 static_cast<std::int64_t>(q.pos.size()), static_cast<std::int64_t>(k.pos.size())};
  const auto q_values = static_cast<std::size_t>(spec.batch * l.H * l.nq * l.D);
  const auto k_values = static_cast<std::size_t>(spec.batch * l.Hkv * l.nk * l.D);
  if (q.q.size() != q_values || q.d_o.size() != q_values || k.k.size() != k_values ||
      k.v.size() != k_values)
    throw std::invalid_argument("reference backward: tensor sizes do not match the positions");
  return l;
}

void require_stats(const ProblemSpec& spec, const QueryRows& q) {
  const auto rows = static_cast<std::size_t>(spec.batch * spec.heads) * q.pos.size();
  if (!q.stats || q.stats->lse.size() != rows || q.stats->delta.size() != rows)
    throw std::invalid_argument(
        "reference backward: query statistics missing or of the wrong size");
}

}  // namespace

RowStats reference_row_stats(const ProblemSpec& spec, const QueryRows& queries,
                             const KeyRows& keys) {
  const Layout L = layout_of(spec, queries, keys);
  const auto pattern = make_pattern(spec.mask, spec.seq_len);
  const double scale = spec.scale();
  RowStats out{std::vector<double>(static_cast<std::size_t>(spec.batch * L.H * L.nq)),
               std::vector<double>(static_cast<std::size_t>(spec.batch * L.H * L.nq))};

#pragma omp parallel for collapse(3) schedule(dynamic, 16)
  for (std::int64_t b = 0; b < spec.batch; ++b)
    for (std::int64_t h = 0; h < L.H; ++h)
      for (std::int64_t i = 0; i < L.nq; ++i) {
        const std::int64_t kvh = h / (L.H / L.Hkv);
        const float* qi = queries.q.data() + L.q_row(b, h, i);
        std::vector<double> s(static_cast<std::size_t>(L.nk), kNegInf);
        std::vector<int> weight(static_cast<std::size_t>(L.nk));  // multiplicity (dilated)
        double max_s = kNegInf;
        for (std::int64_t j = 0; j < L.nk; ++j) {
          weight[j] = pattern->multiplicity(queries.pos[i], keys.pos[j], static_cast<int>(h));
          if (weight[j] == 0) continue;
          s[j] = scale * dot(qi, keys.k.data() + L.k_row(b, kvh, j), L.D);
          max_s = std::max(max_s, s[j]);
        }
        const std::size_t row = L.stat(b, h, i);
        if (max_s == kNegInf) {  // no key allowed: the output row is zero, so is D
          out.lse[row] = kNegInf;
          out.delta[row] = 0.0;
          continue;
        }
        std::vector<double> o(static_cast<std::size_t>(L.D), 0.0);
        double sum = 0.0;
        for (std::int64_t j = 0; j < L.nk; ++j) {
          if (s[j] == kNegInf) continue;
          const double p = weight[j] * std::exp(s[j] - max_s);
          sum += p;
          const float* vj = keys.v.data() + L.k_row(b, kvh, j);
          for (std::int64_t d = 0; d < L.D; ++d) o[d] += p * double(vj[d]);
        }
        const float* doi = queries.d_o.data() + L.q_row(b, h, i);
        double delta = 0.0;
        for (std::int64_t d = 0; d < L.D; ++d) delta += double(doi[d]) * (o[d] / sum);
        out.lse[row] = max_s + std::log(sum);
        out.delta[row] = delta;
      }
  return out;
}

std::vector<double> reference_dq(const ProblemSpec& spec, const QueryRows& queries,
                                 const KeyRows& keys) {
  const Layout L = layout_of(spec, queries, keys);
  require_stats(spec, queries);
  const auto pattern = make_pattern(spec.mask, spec.seq_len);
  const double scale = spec.scale();
  std::vector<double> dq(queries.q.size(), 0.0);

#pragma omp parallel for collapse(3) schedule(dynamic, 16)
  for (std::int64_t b = 0; b < spec.batch; ++b)
    for (std::int64_t h = 0; h < L.H; ++h)
      for (std::int64_t i = 0; i < L.nq; ++i) {
        const std::size_t row = L.stat(b, h, i);
        const double lse = queries.stats->lse[row], delta = queries.stats->delta[row];
        if (lse == kNegInf) continue;
        const std::int64_t kvh = h / (L.H / L.Hkv);
        const float* qi = queries.q.data() + L.q_row(b, h, i);
        const float* doi = queries.d_o.data() + L.q_row(b, h, i);
        double* dqi = dq.data() + L.q_row(b, h, i);
        for (std::int64_t j = 0; j < L.nk; ++j) {
          const int weight = pattern->multiplicity(queries.pos[i], keys.pos[j], int(h));
          if (weight == 0) continue;
          const float* kj = keys.k.data() + L.k_row(b, kvh, j);
          const double p = weight * std::exp(scale * dot(qi, kj, L.D) - lse);
          const double ds = p * (dot(doi, keys.v.data() + L.k_row(b, kvh, j), L.D) - delta);
          for (std::int64_t d = 0; d < L.D; ++d) dqi[d] += scale * ds * double(kj[d]);
        }
      }
  return dq;
}

KeyGradients reference_dkv(const ProblemSpec& spec, const QueryRows& queries, const KeyRows& keys) {
  const Layout L = layout_of(spec, queries, keys);
  require_stats(spec, queries);
  const auto pattern = make_pattern(spec.mask, spec.seq_len);
  const double scale = spec.scale();
  const std::int64_t group = L.H / L.Hkv;
  KeyGradients out{std::vector<double>(keys.k.size(), 0.0),
                   std::vector<double>(keys.v.size(), 0.0)};

#pragma omp parallel for collapse(3) schedule(dynamic, 16)
  for (std::int64_t b = 0; b < spec.batch; ++b)
    for (std::int64_t kvh = 0; kvh < L.Hkv; ++kvh)
      for (std::int64_t j = 0; j < L.nk; ++j) {
        const float* kj = keys.k.data() + L.k_row(b, kvh, j);
        const float* vj = keys.v.data() + L.k_row(b, kvh, j);
        double* dkj = out.dk.data() + L.k_row(b, kvh, j);
        double* dvj = out.dv.data() + L.k_row(b, kvh, j);
        for (std::int64_t h = kvh * group; h < (kvh + 1) * group;
             ++h)  // every query head sharing it
          for (std::int64_t i = 0; i < L.nq; ++i) {
            const std::size_t row = L.stat(b, h, i);
            const double lse = queries.stats->lse[row];
            if (lse == kNegInf) continue;
            const int weight = pattern->multiplicity(queries.pos[i], keys.pos[j], int(h));
            if (weight == 0) continue;
            const float* qi = queries.q.data() + L.q_row(b, h, i);
            const float* doi = queries.d_o.data() + L.q_row(b, h, i);
            const double p = weight * std::exp(scale * dot(qi, kj, L.D) - lse);
            const double ds = p * (dot(doi, vj, L.D) - queries.stats->delta[row]);
            for (std::int64_t d = 0; d < L.D; ++d) {
              dkj[d] += scale * ds * double(qi[d]);
              dvj[d] += p * double(doi[d]);
            }
          }
      }
  return out;
}

double FrobeniusSums::relative() const {
  if (std::isnan(diff2) || std::isnan(ref2)) return std::numeric_limits<double>::quiet_NaN();
  return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
}

}  // namespace ringbench
