#include "ring/cpu/CpuBackwardKernel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ring/cpu/TileMask.hpp"

namespace ringbench {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// `rows` rows of one query head from row q0 on: Q, dO and the row statistics.
struct QueryTile {
  const float *q, *d_o, *lse, *delta;
  const std::int64_t* pos;
  std::int64_t rows;
};

// `cols` keys of one kv head, K and V transposed to [head_dim][cols] for unit-stride inner loops.
struct KeyTile {
  const float *kt, *vt;
  const std::int64_t* pos;
  std::int64_t cols;
};

void transpose(const float* rows, std::int64_t count, std::int64_t dim, float* out) {
  for (std::int64_t j = 0; j < count; ++j)
    for (std::int64_t d = 0; d < dim; ++d) out[d * count + j] = rows[j * dim + d];
}

// P_ij = exp(scale·q_i·k_j - LSE_i) and dS_ij = P_ij·(dO_i·v_j - D_i) for a tile pair, both 0 for
// masked pairs (the mask is tested only when the tile is partially covered).
void tile_probabilities(const QueryTile& qt, const KeyTile& kt, std::int64_t dim, float scale,
                        const TileMask& mask, float* p, float* ds) {
  const std::int64_t C = kt.cols;
  for (std::int64_t i = 0; i < qt.rows; ++i) {
    float* pi = p + i * C;
    float* dsi = ds + i * C;
    std::fill(pi, pi + C, 0.0f);
    std::fill(dsi, dsi + C, 0.0f);
    const float lse = qt.lse[i];
    if (lse == kNegInf)
      continue;  // the row attends to nothing anywhere: no gradient flows through it
    const float* qi = qt.q + i * dim;
    const float* doi = qt.d_o + i * dim;
    for (std::int64_t d = 0; d < dim; ++d) {
      const float qd = qi[d] * scale, od = doi[d];
      const float* kd = kt.kt + d * C;
      const float* vd = kt.vt + d * C;
      for (std::int64_t j = 0; j < C; ++j) {
        pi[j] += qd * kd[j];
        dsi[j] += od * vd[j];
      }
    }
    const float delta = qt.delta[i];
    for (std::int64_t j = 0; j < C; ++j) {
      const bool allowed = !mask.partial || mask.allows(qt.pos[i], kt.pos[j]);
      const float pij = allowed ? std::exp(pi[j] - lse) : 0.0f;
      pi[j] = pij;
      dsi[j] = pij * (dsi[j] - delta);
    }
  }
}

// Per-thread scratch of one tile pair.
struct Scratch {
  std::vector<float> kt, vt, p, ds, acc_a, acc_b;
  Scratch(std::int64_t dim, std::int64_t rows, std::int64_t cols)
      : kt(dim * cols),
        vt(dim * cols),
        p(rows * cols),
        ds(rows * cols),
        acc_a(cols * dim),
        acc_b(cols * dim) {}
};

}  // namespace

CpuBackwardKernel::CpuBackwardKernel(const ProblemSpec& spec, std::int64_t local_len)
    : spec_(spec), n_(local_len) {}

void CpuBackwardKernel::prepare(const BackwardInputs& in, float* dq) {
  const std::int64_t rows = spec_.batch * spec_.heads * n_, D = spec_.head_dim;
  const auto* d_o = static_cast<const float*>(in.d_o);
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float sum = 0.0f;
    for (std::int64_t d = 0; d < D; ++d) sum += d_o[r * D + d] * in.o[r * D + d];
    in.delta[r] = sum;
    std::fill(dq + r * D, dq + (r + 1) * D, 0.0f);
  }
}

void CpuBackwardKernel::attend_backward(const BackwardInputs& in, const void* kv_raw,
                                        const BlockMask& mask, float* dq, float* dkv) {
  const std::size_t half =
      static_cast<std::size_t>(spec_.batch * spec_.effective_kv_heads() * n_ * spec_.head_dim);
  const auto* k = static_cast<const float*>(kv_raw);
  query_pass(in, k, k + half, mask, dq);
  key_pass(in, k, k + half, mask, dkv, dkv + half);
}

void CpuBackwardKernel::accumulate(float* acc, const float* part, std::size_t count) {
  const auto n = static_cast<std::int64_t>(count);
#pragma omp parallel for simd schedule(static)
  for (std::int64_t i = 0; i < n; ++i) acc[i] += part[i];
}

// dQ_i += scale·Σ_j dS_ij·k_j: one thread per (batch, head, query tile), over the block's key
// tiles.
void CpuBackwardKernel::query_pass(const BackwardInputs& in, const float* k, const float* v,
                                   const BlockMask& mask, float* dq) {
  const std::int64_t D = spec_.head_dim, H = spec_.heads, Hkv = spec_.effective_kv_heads();
  const auto qpos = expand_positions(mask.q_runs), kpos = expand_positions(mask.kv_runs);
  const auto scale = static_cast<float>(spec_.scale());
  const auto* q = static_cast<const float*>(in.q);
  const auto* d_o = static_cast<const float*>(in.d_o);
  const std::int64_t q_tiles = (n_ + kTileQ - 1) / kTileQ;
  const AttentionPattern& pattern = *mask.pattern;

#pragma omp parallel
  {
    Scratch s(D, kTileQ, kTileK);
#pragma omp for collapse(3) schedule(dynamic, 1)
    for (std::int64_t b = 0; b < spec_.batch; ++b)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t t = 0; t < q_tiles; ++t) {
          const std::int64_t q0 = t * kTileQ, rows = std::min(kTileQ, n_ - q0);
          const std::int64_t row0 = (b * H + h) * n_ + q0;
          const QueryTile qt{q + row0 * D,    d_o + row0 * D,   in.lse + row0,
                             in.delta + row0, qpos.data() + q0, rows};
          const std::int64_t kv_row0 = (b * Hkv + h / (H / Hkv)) * n_;
          float* dq_tile = s.acc_a.data();  // rows x D
          std::fill(dq_tile, dq_tile + rows * D, 0.0f);
          // every branch of the pattern in turn: a pair two branches allow contributes twice
          for (int branch = 0; branch < pattern.branches(); ++branch)
            for (std::int64_t k0 = 0; k0 < n_; k0 += kTileK) {
              const std::int64_t cols = std::min(kTileK, n_ - k0);
              const Coverage c =
                  tile_coverage(pattern, &qpos[q0], rows, &kpos[k0], cols, h, branch);
              if (c == Coverage::none) continue;
              const float* kk = k + (kv_row0 + k0) * D;
              transpose(kk, cols, D, s.kt.data());
              transpose(v + (kv_row0 + k0) * D, cols, D, s.vt.data());
              tile_probabilities(qt, {s.kt.data(), s.vt.data(), kpos.data() + k0, cols}, D, scale,
                                 {pattern, int(h), branch, c == Coverage::partial}, s.p.data(),
                                 s.ds.data());
              for (std::int64_t i = 0; i < rows; ++i)
                for (std::int64_t j = 0; j < cols; ++j) {
                  const float ds = s.ds[i * cols + j] * scale;
                  if (ds == 0.0f) continue;
                  const float* kj = kk + j * D;
                  for (std::int64_t d = 0; d < D; ++d) dq_tile[i * D + d] += ds * kj[d];
                }
            }
          float* out = dq + row0 * D;
          for (std::int64_t e = 0; e < rows * D; ++e) out[e] += dq_tile[e];
        }
  }
}

// dK_j = scale·Σ_i dS_ij·q_i and dV_j = Σ_i P_ij·dO_i over this rank's queries of every head in the
// kv head's group: one thread per (batch, kv head, key tile), written (not added) into dk and dv.
void CpuBackwardKernel::key_pass(const BackwardInputs& in, const float* k, const float* v,
                                 const BlockMask& mask, float* dk, float* dv) {
  const std::int64_t D = spec_.head_dim, H = spec_.heads, Hkv = spec_.effective_kv_heads(),
                     group = H / Hkv;
  const auto qpos = expand_positions(mask.q_runs), kpos = expand_positions(mask.kv_runs);
  const auto scale = static_cast<float>(spec_.scale());
  const auto* q = static_cast<const float*>(in.q);
  const auto* d_o = static_cast<const float*>(in.d_o);
  const std::int64_t k_tiles = (n_ + kTileK - 1) / kTileK;
  const AttentionPattern& pattern = *mask.pattern;

#pragma omp parallel
  {
    Scratch s(D, kTileQ, kTileK);
#pragma omp for collapse(3) schedule(dynamic, 1)
    for (std::int64_t b = 0; b < spec_.batch; ++b)
      for (std::int64_t kvh = 0; kvh < Hkv; ++kvh)
        for (std::int64_t t = 0; t < k_tiles; ++t) {
          const std::int64_t k0 = t * kTileK, cols = std::min(kTileK, n_ - k0);
          const std::int64_t kv_row0 = (b * Hkv + kvh) * n_ + k0;
          transpose(k + kv_row0 * D, cols, D, s.kt.data());
          transpose(v + kv_row0 * D, cols, D, s.vt.data());
          const KeyTile kt{s.kt.data(), s.vt.data(), kpos.data() + k0, cols};
          float* dk_tile = s.acc_a.data();  // cols x D
          float* dv_tile = s.acc_b.data();
          std::fill(dk_tile, dk_tile + cols * D, 0.0f);
          std::fill(dv_tile, dv_tile + cols * D, 0.0f);
          for (std::int64_t h = kvh * group; h < (kvh + 1) * group; ++h)
            for (int branch = 0; branch < pattern.branches(); ++branch)
              for (std::int64_t q0 = 0; q0 < n_; q0 += kTileQ) {
                const std::int64_t rows = std::min(kTileQ, n_ - q0);
                const Coverage c =
                    tile_coverage(pattern, &qpos[q0], rows, &kpos[k0], cols, h, branch);
                if (c == Coverage::none) continue;
                const std::int64_t row0 = (b * H + h) * n_ + q0;
                const QueryTile qt{q + row0 * D,    d_o + row0 * D,   in.lse + row0,
                                   in.delta + row0, qpos.data() + q0, rows};
                tile_probabilities(qt, kt, D, scale,
                                   {pattern, int(h), branch, c == Coverage::partial}, s.p.data(),
                                   s.ds.data());
                for (std::int64_t j = 0; j < cols; ++j)
                  for (std::int64_t i = 0; i < rows; ++i) {
                    const float p = s.p[i * cols + j];
                    if (p == 0.0f) continue;
                    const float ds = s.ds[i * cols + j] * scale;
                    const float* qi = qt.q + i * D;
                    const float* doi = qt.d_o + i * D;
                    for (std::int64_t d = 0; d < D; ++d) {
                      dk_tile[j * D + d] += ds * qi[d];
                      dv_tile[j * D + d] += p * doi[d];
                    }
                  }
              }
          std::copy_n(dk_tile, cols * D, dk + kv_row0 * D);
          std::copy_n(dv_tile, cols * D, dv + kv_row0 * D);
        }
  }
}

}  // namespace ringbench
