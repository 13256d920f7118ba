#include "ring/UlyssesShape.hpp"

#include <algorithm>

namespace ringbench {

UlyssesShape ulysses_shape(const ProblemSpec& spec, int ranks) {
  UlyssesShape u;
  u.ranks = ranks;
  u.seq = spec.seq_len;
  u.n = spec.seq_len / ranks;
  u.batch = spec.batch;
  u.heads = spec.heads;
  u.kv_heads = spec.effective_kv_heads();
  u.dim = spec.head_dim;
  u.rank_heads = spec.heads / ranks;
  u.group = u.heads / u.kv_heads;
  u.rank_kv_heads = std::max<std::int64_t>(1, u.rank_heads / u.group);
  return u;
}

ProblemSpec UlyssesShape::rank_spec(const ProblemSpec& spec) const {
  ProblemSpec s = spec;
  s.heads = rank_heads;
  s.kv_heads = rank_kv_heads;
  s.softmax_scale = spec.scale();  // the full problem's scale, whatever the head count
  return s;
}

std::int64_t UlyssesShape::held_values(bool backward) const {
  const std::int64_t exchange = 2 * ranks * std::max(in_chunk(), out_chunk());  // send, receive
  const std::int64_t q = batch * rank_heads * seq * dim, kv = 2 * batch * rank_kv_heads * seq * dim;
  const std::int64_t rows = batch * rank_heads * seq;
  const std::int64_t forward = exchange + q + kv + q + rows;  // Q, K/V, O, LSE of the heads
  return backward ? forward + 2 * q + rows + kv : forward;    // dO, dQ, D, dK/dV
}

std::size_t ulysses_host_bytes(const ProblemSpec& spec, int ranks, bool backward) {
  return static_cast<std::size_t>(ulysses_shape(spec, ranks).held_values(backward)) * sizeof(float);
}

}  // namespace ringbench
