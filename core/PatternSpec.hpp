// Attention patterns as users write them, one spec per value of `mask`:
//   none | causal | window:L:R | longformer:L:R:G | bigbird:B:W:G:N[:SEED]
//   | dilated:W1,W2,...:R1,R2,... | blocksparse:B:DENSITY[:SEED] | SPEC+causal
// (the README's "Attention patterns" table says what each allows). Specs carry commas, so the
// items of a `mask` list are separated by spaces only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/AttentionPattern.hpp"

namespace ringbench {

// The pattern a spec names, for a sequence of seq_len tokens. Throws ConfigError("mask", spec,
// what is allowed) naming the part that is wrong: an unknown name, a malformed or missing number,
// a W not dividing seq_len, an R not dividing its W, DENSITY outside (0, 1], and so on.
std::shared_ptr<const AttentionPattern> make_pattern(const std::string& spec, std::int64_t seq_len);

// `none` or `causal` for the two dense patterns, which is all the GPU kernels take; throws
// ConfigError("mask", spec, ...) for the sparse ones (refused before any GPU work).
MaskKind dense_mask_kind(const std::string& spec, std::int64_t seq_len);

// The items of a `mask` value: split at white space only (commas belong to dilated specs).
std::vector<std::string> split_mask_list(const std::string& text);

}  // namespace ringbench
