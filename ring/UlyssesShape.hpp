// The geometry of DeepSpeed-Ulysses over P ranks: rank r's heads (heads / P of them, and the kv
// heads they use), the chunks every pair of ranks exchanges, and the full-sequence problem each
// rank attends. Shared by the run (UlyssesRing), its work and bytes (StepWork) and its memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ProblemSpec.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

struct UlyssesShape {
  std::int64_t ranks = 1, n = 0, seq = 0;  // P, tokens per rank, the whole sequence
  std::int64_t batch = 1, heads = 0, kv_heads = 0, dim = 0;
  std::int64_t rank_heads = 0;     // query heads per rank: heads / P
  std::int64_t rank_kv_heads = 0;  // kv heads a rank's query heads use (replicated below a group)
  std::int64_t group = 1;          // query heads per kv head

  // The first kv head rank r's query heads use.
  std::int64_t kv_first(int rank) const { return rank * rank_heads / group; }
  // Values one rank sends each other rank: Q, K and V of its tokens in the peer's heads; then
  // O and LSE of the peer's tokens in its own heads.
  std::int64_t in_chunk() const { return (rank_heads + 2 * rank_kv_heads) * batch * n * dim; }
  std::int64_t out_chunk() const { return rank_heads * batch * n * (dim + 1); }
  // The backward's: dO of its tokens in the peer's heads (input type); then dQ, dK and dV (fp32)
  // of the peer's tokens in its own heads (a replicated kv head's dK, dV summed on the owner).
  std::int64_t grad_in_chunk() const { return rank_heads * batch * n * dim; }
  std::int64_t grad_out_chunk() const { return in_chunk(); }
  // The problem a rank attends: its heads over every token.
  ProblemSpec rank_spec(const ProblemSpec& spec) const;
  // The full-sequence rows a rank attends: every token, in position order (row = position), so
  // the kernel sees increasing positions whatever the layout.
  std::vector<PositionRun> all_runs() const { return {PositionRun{0, 0, seq, 1}}; }
  // Values a rank holds for the exchange and the full-sequence attention (fp32 on the host), with
  // the backward's dO, dQ, D, dK and dV of its heads when `backward`.
  std::int64_t held_values(bool backward) const;
};

UlyssesShape ulysses_shape(const ProblemSpec& spec, int ranks);

// What UlyssesRing holds per rank beside its backend, from the problem and the passes alone.
std::size_t ulysses_host_bytes(const ProblemSpec& spec, int ranks, bool backward);

}  // namespace ringbench
