// Rounding float values to the precision of the benchmark's element type, so every backend (fp32
// CPU, bf16/fp16 GPU) and the reference see exactly the same input numbers.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "core/ProblemSpec.hpp"

namespace ringbench {

// Round to nearest even at bfloat16 precision (8 significant bits).
inline float round_to_bf16(float x) {
  if (!std::isfinite(x)) return x;
  std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return std::bit_cast<float>(bits & 0xFFFF0000u);
}

// Round to nearest at binary16 precision (11 significant bits); inputs here are within [-1, 1],
// far from fp16's range limits, but subnormals are handled through the fixed exponent floor.
inline float round_to_fp16(float x) {
  if (x == 0.0f || !std::isfinite(x)) return x;
  int exponent = 0;
  std::frexp(x, &exponent);
  const int e = exponent < -13 ? -13 : exponent;  // fp16 subnormal spacing is 2^-24
  const float quantum = std::ldexp(1.0f, e - 11);
  return std::nearbyint(x / quantum) * quantum;
}

inline float round_to(DType t, float x) {
  switch (t) {
    case DType::bf16:
      return round_to_bf16(x);
    case DType::fp16:
      return round_to_fp16(x);
    case DType::fp32:
      return x;
  }
  return x;
}

}  // namespace ringbench
