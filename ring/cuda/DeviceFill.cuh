// Small device kernels that fill buffers: token positions from layout runs, constants, and the
// seeded inputs (bit-identical to the host generator).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <span>

#include "core/InputGenerator.hpp"
#include "core/ProblemSpec.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

// positions[local] = global position, for the tokens described by `runs` (at most 4 runs).
void fill_positions(std::int32_t* positions, std::span<const PositionRun> runs,
                    cudaStream_t stream);

void fill_constant(float* data, std::size_t count, float value, cudaStream_t stream);

// out[batch][heads_of(role)][n][head_dim] in spec.dtype (bf16 or fp16) for the tokens of `runs`,
// n = total tokens of the runs.
void generate_device_tensor(TensorRole role, std::uint64_t seed, const ProblemSpec& spec,
                            std::span<const PositionRun> runs, void* out, cudaStream_t stream);

// A packed K/V block (K then V, each [batch][kv_heads][n][head_dim]) for the tokens of `runs`:
// what the owner of those tokens holds and sends around the ring.
void generate_device_kv_block(std::uint64_t seed, const ProblemSpec& spec,
                              std::span<const PositionRun> runs, void* kv, cudaStream_t stream);

// Only the rows `rows` (local indices of the block of `runs`) of such a block; the others keep
// what they held (generate_kv_rows on the host).
void generate_device_kv_rows(std::uint64_t seed, const ProblemSpec& spec,
                             std::span<const PositionRun> runs, std::span<const RowSelection> rows,
                             void* kv, cudaStream_t stream);

}  // namespace ringbench
