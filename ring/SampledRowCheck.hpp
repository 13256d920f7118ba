// --check-rows N: the check that scales to any sequence length. N query positions spread evenly
// over the sequence are compared, in every batch and head, with a float64 reference of those rows
// against every key of the sequence (core/RowReference.hpp): each row's allowed keys are asked of
// the pattern and only those are generated, a window of them at a time, so the check costs the
// keys the N rows attend (N x S for dense masks, a few thousand per row for a window, about 400K
// per row of LongNet's dilated pattern at 1B tokens), never S x S.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "core/ErrorSums.hpp"
#include "core/ReferenceAttention.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

// The checked query positions: the centres of `rows` equal slices of the sequence, increasing.
std::vector<std::int64_t> sampled_positions(std::int64_t seq_len, std::int64_t rows);

// The same over the tokens of `played` members only (an emulated ring, where only they have
// outputs): the centres of `rows` equal slices of their tokens taken member after member.
// Every member when `played` is empty.
std::vector<std::int64_t> sampled_positions(const SequenceLayout& layout, std::int64_t rows,
                                            std::span<const int> played);

// Reads some rows of a rank's result: `local` (ascending local indices) in every batch and head,
// as [batch * heads][local.size()] rows (O with head_dim values each).
using RowReader = std::function<AttentionResult(std::span<const std::int64_t> local)>;

// Error sums of ring rank `rank`'s result on the sampled positions it holds (read with `read`,
// only when it holds some), against the float64 reference. A row the reference leaves empty
// (nothing allowed) must be empty in the result too (LSE = -inf); its O is not compared.
ErrorSums compare_sampled_rows(const BenchmarkCase& c, const SequenceLayout& layout, int rank,
                               const RowReader& read, std::span<const int> played = {});
// The same on a whole result `got` (its local rows, as read_result gives them).
ErrorSums compare_sampled_rows(const BenchmarkCase& c, const SequenceLayout& layout, int rank,
                               const AttentionResult& got, std::span<const int> played = {});

}  // namespace ringbench
