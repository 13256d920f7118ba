// The attention problem being benchmarked, independent of how it is sharded or where it runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringbench {

enum class DType { fp32, bf16, fp16 };
enum class MaskKind { none, causal };

std::string_view to_string(DType t);
std::string_view to_string(MaskKind m);
DType parse_dtype(std::string_view text);  // throws ConfigError (key "dtype")
std::size_t element_bytes(DType t);

struct ProblemSpec {
  std::int64_t batch = 1;
  std::int64_t heads = 4;
  std::int64_t kv_heads = 0;  // 0: same as heads (no GQA)
  std::int64_t head_dim = 64;
  std::int64_t seq_len = 4096;
  DType dtype = DType::fp32;
  std::string mask = "none";   // the attention pattern's spec (core/PatternSpec.hpp), canonical
  double softmax_scale = 0.0;  // 0: 1/sqrt(head_dim)

  std::int64_t effective_kv_heads() const { return kv_heads == 0 ? heads : kv_heads; }
  std::int64_t group_size() const { return heads / effective_kv_heads(); }
  double scale() const;
};

// Head dims any backend supports; a backend may support fewer and says so itself.
inline constexpr std::int64_t kSupportedHeadDims[] = {32, 64, 96, 128, 256};
// Positions are stored as 32-bit integers on the GPU.
inline constexpr std::int64_t kMaxSeqLen = (std::int64_t{1} << 31) - 1;

// Checks every field on its own and together (the mask spec against the sequence length too);
// throws ConfigError naming the option key.
void validate(const ProblemSpec& spec);

}  // namespace ringbench
