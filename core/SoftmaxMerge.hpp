// Merging two partial attention results over disjoint key sets. Each partial is a normalized
// output row O and the log-sum-exp L of its scaled scores; the union is
//   L = log(e^La + e^Lb),  O = Oa·e^(La-L) + Ob·e^(Lb-L).
// A row with L = -inf holds nothing yet and contributes nothing.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace ringbench {

inline constexpr float kEmptyLse = -std::numeric_limits<float>::infinity();

// Merges (o_blk, lse_blk) into (o_acc, lse_acc) for one row of `dim` values.
template <typename Acc>
inline void merge_row(Acc* o_acc, Acc& lse_acc, const Acc* o_blk, Acc lse_blk, std::int64_t dim) {
  if (lse_blk == -std::numeric_limits<Acc>::infinity()) return;
  if (lse_acc == -std::numeric_limits<Acc>::infinity()) {
    for (std::int64_t d = 0; d < dim; ++d) o_acc[d] = o_blk[d];
    lse_acc = lse_blk;
    return;
  }
  const Acc hi = lse_acc > lse_blk ? lse_acc : lse_blk;
  const Acc lo = lse_acc > lse_blk ? lse_blk : lse_acc;
  const Acc lse = hi + std::log1p(std::exp(lo - hi));
  const Acc wa = std::exp(lse_acc - lse), wb = std::exp(lse_blk - lse);
  for (std::int64_t d = 0; d < dim; ++d) o_acc[d] = o_acc[d] * wa + o_blk[d] * wb;
  lse_acc = lse;
}

}  // namespace ringbench
