#include "ring/cpu/CpuBlockKernel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/SoftmaxMerge.hpp"
#include "ring/cpu/TileMask.hpp"

namespace ringbench {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Running state of one query tile: online-softmax max and sum per row, unnormalized output.
struct TileState {
  std::vector<float> m, l, acc;
  TileState(std::int64_t rows, std::int64_t dim)
      : m(rows, kNegInf), l(rows, 0.0f), acc(rows * dim, 0.0f) {}
};

struct TileGeometry {
  std::int64_t dim, q0, rows, k0, cols;
};

// Scores of a query tile against a key tile (keys transposed for unit-stride inner loops), the
// mask applied only when the tile is partially covered, then the online-softmax update.
void attend_tile(const TileGeometry& g, const float* q, const float* k, const float* v, float scale,
                 const std::int64_t* qpos, const std::int64_t* kpos, const TileMask& mask,
                 TileState& st, std::vector<float>& kt, std::vector<float>& s) {
  const std::int64_t D = g.dim, R = g.rows, C = g.cols;
  for (std::int64_t j = 0; j < C; ++j)
    for (std::int64_t d = 0; d < D; ++d) kt[d * C + j] = k[(g.k0 + j) * D + d];
  std::fill(s.begin(), s.begin() + R * C, 0.0f);
  for (std::int64_t i = 0; i < R; ++i) {
    float* si = &s[i * C];
    const float* qi = q + (g.q0 + i) * D;
    for (std::int64_t d = 0; d < D; ++d) {
      const float qd = qi[d] * scale;
      const float* kd = &kt[d * C];
      for (std::int64_t j = 0; j < C; ++j) si[j] += qd * kd[j];
    }
    if (mask.partial)
      for (std::int64_t j = 0; j < C; ++j)
        if (!mask.allows(qpos[g.q0 + i], kpos[g.k0 + j])) si[j] = kNegInf;
  }
  for (std::int64_t i = 0; i < R; ++i) {
    float* si = &s[i * C];
    const float tile_max = *std::max_element(si, si + C);
    if (tile_max == kNegInf) continue;  // every key masked for this row
    const float m_new = std::max(st.m[i], tile_max);
    const float correction = std::exp(st.m[i] - m_new);  // exp(-inf) = 0 on the first tile
    float sum = 0.0f;
    for (std::int64_t j = 0; j < C; ++j) {
      si[j] = std::exp(si[j] - m_new);
      sum += si[j];
    }
    float* ai = &st.acc[i * D];
    for (std::int64_t d = 0; d < D; ++d) ai[d] *= correction;
    for (std::int64_t j = 0; j < C; ++j) {
      const float p = si[j];
      const float* vj = v + (g.k0 + j) * D;
      for (std::int64_t d = 0; d < D; ++d) ai[d] += p * vj[d];
    }
    st.l[i] = st.l[i] * correction + sum;
    st.m[i] = m_new;
  }
}

}  // namespace

CpuBlockKernel::CpuBlockKernel(const ProblemSpec& spec, std::int64_t local_len)
    : spec_(spec), n_(local_len) {}

void CpuBlockKernel::reset(float* o, float* lse) {
  const std::int64_t rows = spec_.batch * spec_.heads * n_;
  std::fill(lse, lse + rows, kEmptyLse);
  std::fill(o, o + rows * spec_.head_dim, 0.0f);
}

void CpuBlockKernel::attend(const void* q_raw, const void* kv_raw, const BlockMask& mask, float* o,
                            float* lse) {
  const std::int64_t D = spec_.head_dim, H = spec_.heads, Hkv = spec_.effective_kv_heads();
  const auto* q = static_cast<const float*>(q_raw);
  const auto* k = static_cast<const float*>(kv_raw);
  const float* v = k + spec_.batch * Hkv * n_ * D;
  const auto qpos = expand_positions(mask.q_runs), kpos = expand_positions(mask.kv_runs);
  const auto scale = static_cast<float>(spec_.scale());
  const std::int64_t q_tiles = (n_ + kTileQ - 1) / kTileQ;
  const AttentionPattern& pattern = *mask.pattern;

#pragma omp parallel
  {
    std::vector<float> kt(D * kTileK), s(kTileQ * kTileK), o_blk(D);
#pragma omp for collapse(3) schedule(dynamic, 1)
    for (std::int64_t b = 0; b < spec_.batch; ++b)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t t = 0; t < q_tiles; ++t) {
          const std::int64_t kvh = h / (H / Hkv);
          const float* qh = q + (b * H + h) * n_ * D;
          const float* kh = k + (b * Hkv + kvh) * n_ * D;
          const float* vh = v + (b * Hkv + kvh) * n_ * D;
          const std::int64_t q0 = t * kTileQ, rows = std::min(kTileQ, n_ - q0);
          TileState st(rows, D);
          // Every branch into the same online softmax: a key two branches allow counts twice.
          for (int branch = 0; branch < pattern.branches(); ++branch)
            for (std::int64_t k0 = 0; k0 < n_; k0 += kTileK) {
              const std::int64_t cols = std::min(kTileK, n_ - k0);
              const Coverage c =
                  tile_coverage(pattern, &qpos[q0], rows, &kpos[k0], cols, h, branch);
              if (c == Coverage::none) continue;
              attend_tile({D, q0, rows, k0, cols}, qh, kh, vh, scale, qpos.data(), kpos.data(),
                          {pattern, int(h), branch, c == Coverage::partial}, st, kt, s);
            }
          for (std::int64_t i = 0; i < rows; ++i) {
            if (st.l[i] == 0.0f) continue;  // nothing allowed in this block for the row
            for (std::int64_t d = 0; d < D; ++d) o_blk[d] = st.acc[i * D + d] / st.l[i];
            const std::int64_t row = (b * H + h) * n_ + q0 + i;
            merge_row(o + row * D, lse[row], o_blk.data(), st.m[i] + std::log(st.l[i]), D);
          }
        }
  }
}

}  // namespace ringbench
