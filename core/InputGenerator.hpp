// Seeded inputs keyed by global token position: every value is a hash of (seed, tensor, batch,
// head, position, dim), so any layout and world size produce the same global problem and any rank
// can rebuild any part of it for checking.
#pragma once

#include <cstdint>
#include <span>

#include "core/AttentionPattern.hpp"
#include "core/ProblemSpec.hpp"

namespace ringbench {

// d_o is dO, the gradient of the loss with respect to the attention output: the input of the
// backward pass, shaped like Q.
enum class TensorRole : std::uint32_t { q = 1, k = 2, v = 3, d_o = 4 };

// Uniform in [-1, 1), rounded to spec.dtype.
float input_value(TensorRole role, std::uint64_t seed, const ProblemSpec& spec, std::int64_t b,
                  std::int64_t h, std::int64_t position, std::int64_t d);

// Fills out[batch][heads_of(role)][positions.size()][head_dim] (Q and dO have spec.heads heads, K
// and V have the kv heads) at the given global positions.
void generate_tensor(TensorRole role, std::uint64_t seed, const ProblemSpec& spec,
                     std::span<const std::int64_t> positions, std::span<float> out);

std::int64_t heads_of(TensorRole role, const ProblemSpec& spec);

// A packed K/V block (K then V, each [batch][kv_heads][positions][head_dim]): what the owner of
// those positions holds and sends around the ring.
void generate_kv_block(std::uint64_t seed, const ProblemSpec& spec,
                       std::span<const std::int64_t> positions, std::span<float> kv);

// Only the rows `rows` (local indices into `positions`) of such a block; the others keep what
// they held. Rows selected twice are written twice, with the same values.
void generate_kv_rows(std::uint64_t seed, const ProblemSpec& spec,
                      std::span<const std::int64_t> positions, std::span<const RowSelection> rows,
                      std::span<float> kv);

}  // namespace ringbench
