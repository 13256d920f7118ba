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

std::int64_t UlyssesShape::exchange_values() const {
  return 2 * ranks * std::max(in_chunk(), out_chunk());  // the backward's chunks are no larger
}

std::size_t ulysses_host_bytes(const BenchmarkCase& c, int ranks) {
  const UlyssesShape u = ulysses_shape(c, ranks);
  const bool backward = has_backward(c.pass);
  const int received = u.groups > 1 ? 2 : 0;  // a ring of one group receives nothing
  return static_cast<std::size_t>(u.exchange_values()) * sizeof(float) +
         plan_host_rank(u.rank_spec(c.spec), u.tokens, backward, received);
}

}  // namespace ringbench
