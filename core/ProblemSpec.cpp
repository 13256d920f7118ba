#include "core/ProblemSpec.hpp"

#include <cmath>

#include "core/Error.hpp"
#include "core/PatternSpec.hpp"

namespace ringbench {

std::string_view to_string(DType t) {
  switch (t) {
    case DType::fp32:
      return "fp32";
    case DType::bf16:
      return "bf16";
    case DType::fp16:
      return "fp16";
  }
  return "?";
}

std::string_view to_string(MaskKind m) {
  return m == MaskKind::causal ? "causal" : "none";
}

DType parse_dtype(std::string_view text) {
  if (text == "fp32") return DType::fp32;
  if (text == "bf16") return DType::bf16;
  if (text == "fp16") return DType::fp16;
  throw ConfigError("dtype", std::string(text), "fp32, bf16, fp16");
}

std::size_t element_bytes(DType t) {
  return t == DType::fp32 ? 4 : 2;
}

double ProblemSpec::scale() const {
  return softmax_scale > 0.0 ? softmax_scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
}

namespace {
void require_positive(const char* key, std::int64_t value) {
  if (value <= 0) throw ConfigError(key, std::to_string(value), "a positive integer");
}
}  // namespace

void validate(const ProblemSpec& spec) {
  require_positive("batch", spec.batch);
  require_positive("heads", spec.heads);
  require_positive("seq-len", spec.seq_len);
  if (spec.kv_heads < 0)
    throw ConfigError("kv-heads", std::to_string(spec.kv_heads),
                      "0 (same as heads) or a divisor of heads");
  if (spec.heads % spec.effective_kv_heads() != 0)
    throw ConfigError("kv-heads", std::to_string(spec.kv_heads),
                      "a divisor of heads (" + std::to_string(spec.heads) + "), or 0 for heads");
  bool dim_ok = false;
  std::string dims;
  for (auto d : kSupportedHeadDims) {
    dim_ok |= spec.head_dim == d;
    dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  }
  if (!dim_ok) throw ConfigError("head-dim", std::to_string(spec.head_dim), dims);
  if (spec.seq_len > kMaxSeqLen)
    throw ConfigError("seq-len", std::to_string(spec.seq_len), "at most 2^31-1 tokens");
  make_pattern(spec.mask, spec.seq_len);  // refuses a malformed spec, or one S does not fit
  if (!(spec.softmax_scale >= 0.0) || !std::isfinite(spec.softmax_scale))
    throw ConfigError("softmax-scale", std::to_string(spec.softmax_scale),
                      "a positive number, or 0 for 1/sqrt(head-dim)");
}

}  // namespace ringbench
