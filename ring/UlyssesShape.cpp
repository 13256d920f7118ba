#include "ring/UlyssesShape.hpp"

#include <algorithm>

#include "ring/MemoryPlan.hpp"

namespace ringbench {

UlyssesShape ulysses_shape(const BenchmarkCase& c, int ranks) {
  const ProblemSpec& spec = c.spec;
  UlyssesShape u;
  u.ranks = c.head_group_ranks(ranks);
  u.groups = ranks / u.ranks;
  u.n = spec.seq_len / ranks;
  u.tokens = spec.seq_len / u.groups;
  u.batch = spec.batch;
  u.heads = spec.heads;
  u.kv_heads = spec.effective_kv_heads();
  u.dim = spec.head_dim;
  u.rank_heads = spec.heads / u.ranks;
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

SequenceLayout UlyssesShape::group_layout(LayoutKind kind) const {
  // one group holds every token in position order, whatever the ranks' layout
  return SequenceLayout(groups == 1 ? LayoutKind::contiguous : kind, tokens * groups,
                        static_cast<int>(groups));
}

std::size_t UlyssesShape::exchange_bytes(bool backward, std::size_t input_bytes) const {
  const auto in = static_cast<std::size_t>(in_chunk()) * input_bytes,
             out = static_cast<std::size_t>(out_chunk()) * sizeof(float);
  std::size_t chunk = std::max(in, out);
  if (backward)
    chunk = std::max({chunk, static_cast<std::size_t>(grad_in_chunk()) * input_bytes,
                      static_cast<std::size_t>(grad_out_chunk()) * sizeof(float)});
  return 2 * static_cast<std::size_t>(ranks) * chunk;
}

BenchmarkCase UlyssesShape::ring_case(const BenchmarkCase& c) const {
  BenchmarkCase r = c;
  r.spec = rank_spec(c.spec);
  r.set_scheme({});
  r.virtual_ranks = c.virtual_ranks > 1 ? static_cast<int>(groups) : 1;
  r.check = false;
  return r;
}

std::size_t input_value_bytes(const BenchmarkCase& c) {
  return c.device == DeviceKind::cpu ? sizeof(float) : element_bytes(c.spec.dtype);
}

std::size_t ulysses_rank_bytes(const BenchmarkCase& c, int ranks) {
  const UlyssesShape u = ulysses_shape(c, ranks);
  return u.exchange_bytes(has_backward(c.pass), input_value_bytes(c)) +
         plan_rank_bytes(u.ring_case(c), u.tokens);
}

}  // namespace ringbench
