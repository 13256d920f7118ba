// The geometry of DeepSpeed-Ulysses within groups of U consecutive ranks (every rank for plain
// Ulysses; USP's hybrid:UxR has R such groups): rank r's heads (heads / U of them, and the kv
// heads they use), the chunks every pair of a group exchanges, and the problem each rank then
// attends, its heads over its group's tokens, with the ring across the R groups. Shared by the
// run (UlyssesRing), its work and bytes (StepWork), its memory and `plan`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "core/ProblemSpec.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

struct UlyssesShape {
  std::int64_t ranks = 1;   // U: the ranks of one all-to-all group
  std::int64_t groups = 1;  // R: the groups, members of the ring across them (1: plain Ulysses)
  std::int64_t n = 0, tokens = 0;  // tokens per rank, per group (S / R)
  std::int64_t batch = 1, heads = 0, kv_heads = 0, dim = 0;
  std::int64_t rank_heads = 0;     // query heads per rank: heads / U
  std::int64_t rank_kv_heads = 0;  // kv heads a rank's query heads use (replicated below a group)
  std::int64_t group = 1;          // query heads per kv head

  // Rank r's place: its group and its index inside it (ranks g U ... g U + U - 1 form group g).
  int group_of(int rank) const { return rank / static_cast<int>(ranks); }
  int index_of(int rank) const { return rank % static_cast<int>(ranks); }
  // The first kv head the query heads of a group's rank `index` use.
  std::int64_t kv_first(int index) const { return index * rank_heads / group; }
  // Values one rank sends each other rank of its group: Q, K and V of its tokens in the peer's
  // heads; then O and LSE of the peer's tokens in its own heads.
  std::int64_t in_chunk() const { return (rank_heads + 2 * rank_kv_heads) * batch * n * dim; }
  std::int64_t out_chunk() const { return rank_heads * batch * n * (dim + 1); }
  // The backward's: dO of its tokens in the peer's heads (input type); then dQ, dK and dV (fp32)
  // of the peer's tokens in its own heads (a replicated kv head's dK, dV summed on the owner).
  std::int64_t grad_in_chunk() const { return rank_heads * batch * n * dim; }
  std::int64_t grad_out_chunk() const { return in_chunk(); }
  // The problem a rank attends: its heads (the whole sequence's scale), the ring across groups.
  ProblemSpec rank_spec(const ProblemSpec& spec) const;
  // The ring across the groups: member g holds what rank g of an R-rank layout of the same kind
  // holds, the union of its U ranks' tokens (contiguous and zigzag; one group: every token).
  SequenceLayout group_layout(LayoutKind kind) const;
  // Bytes a rank holds for the group's exchanges, send and receive: the largest chunks of the
  // passes run, inputs (Q, K, V, dO) in `input_bytes` per value, results and gradients in fp32.
  std::size_t exchange_bytes(bool backward, std::size_t input_bytes) const;
  // The case each rank's member of the ring across the groups runs: its heads, S / R tokens per
  // member, the ring scheme, R virtual ranks when the case has virtual ranks (no check buffers:
  // the check reads the sequence shards).
  BenchmarkCase ring_case(const BenchmarkCase& c) const;
};

// The shape of a head-sharding case (ulysses: one group of every rank; hybrid:UxR) on P ranks.
UlyssesShape ulysses_shape(const BenchmarkCase& c, int ranks);

// What UlyssesRing holds per rank beside its backend (host memory for CPU ranks, else GPU memory,
// without cuDNN's workspace): the exchange buffers and the backend of its member of the ring
// across the groups, from the problem and the passes alone.
std::size_t ulysses_rank_bytes(const BenchmarkCase& c, int ranks);

// Bytes of one value of Q, K, V or dO where a rank of `c` holds them (fp32 on CPU ranks).
std::size_t input_value_bytes(const BenchmarkCase& c);

}  // namespace ringbench
