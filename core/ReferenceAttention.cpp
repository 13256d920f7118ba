#include "core/ReferenceAttention.hpp"

#include <cmath>
#include <limits>

#include "core/PatternSpec.hpp"

namespace ringbench {

AttentionResult reference_attention(const ProblemSpec& spec, std::span<const float> q,
                                    std::span<const std::int64_t> q_pos, std::span<const float> k,
                                    std::span<const float> v, std::span<const std::int64_t> k_pos) {
  const std::int64_t D = spec.head_dim, H = spec.heads, Hkv = spec.effective_kv_heads();
  const auto nq = static_cast<std::int64_t>(q_pos.size());
  const auto nk = static_cast<std::int64_t>(k_pos.size());
  const auto pattern = make_pattern(spec.mask, spec.seq_len);
  const double scale = spec.scale();
  AttentionResult out{std::vector<float>(static_cast<std::size_t>(spec.batch * H * nq * D)),
                      std::vector<float>(static_cast<std::size_t>(spec.batch * H * nq))};

#pragma omp parallel for collapse(3) schedule(dynamic, 16)
  for (std::int64_t b = 0; b < spec.batch; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < nq; ++i) {
        const std::int64_t kvh = h / (H / Hkv);
        const float* qi = q.data() + ((b * H + h) * nq + i) * D;
        const float* kb = k.data() + (b * Hkv + kvh) * nk * D;
        const float* vb = v.data() + (b * Hkv + kvh) * nk * D;
        // two passes: max score, then exp-sum and weighted values, all in double
        double max_s = -std::numeric_limits<double>::infinity();
        // a key allowed by several branches of the pattern (dilated) weighs that many times
        std::vector<double> s(static_cast<std::size_t>(nk));
        std::vector<int> weight(static_cast<std::size_t>(nk));
        for (std::int64_t j = 0; j < nk; ++j) {
          weight[j] = pattern->multiplicity(q_pos[i], k_pos[j], static_cast<int>(h));
          if (weight[j] == 0) {
            s[j] = -std::numeric_limits<double>::infinity();
            continue;
          }
          double dot = 0.0;
          for (std::int64_t d = 0; d < D; ++d) dot += double(qi[d]) * double(kb[j * D + d]);
          s[j] = dot * scale;
          max_s = std::max(max_s, s[j]);
        }
        float* oi = out.o.data() + ((b * H + h) * nq + i) * D;
        float& lse = out.lse[(b * H + h) * nq + i];
        if (max_s == -std::numeric_limits<double>::infinity()) {
          lse = -std::numeric_limits<float>::infinity();
          for (std::int64_t d = 0; d < D; ++d) oi[d] = 0.0f;
          continue;
        }
        std::vector<double> acc(static_cast<std::size_t>(D), 0.0);
        double sum = 0.0;
        for (std::int64_t j = 0; j < nk; ++j) {
          if (s[j] == -std::numeric_limits<double>::infinity()) continue;
          const double p = weight[j] * std::exp(s[j] - max_s);
          sum += p;
          for (std::int64_t d = 0; d < D; ++d) acc[d] += p * double(vb[j * D + d]);
        }
        for (std::int64_t d = 0; d < D; ++d) oi[d] = static_cast<float>(acc[d] / sum);
        lse = static_cast<float>(max_s + std::log(sum));
      }
  return out;
}

}  // namespace ringbench
