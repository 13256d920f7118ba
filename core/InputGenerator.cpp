#include "core/InputGenerator.hpp"

#include <stdexcept>

#include "core/Numeric.hpp"

namespace ringbench {

namespace {
// splitmix64 finaliser: a cheap, well-mixed hash, good enough for benchmark inputs.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

std::int64_t heads_of(TensorRole role, const ProblemSpec& spec) {
  return role == TensorRole::q ? spec.heads : spec.effective_kv_heads();
}

float input_value(TensorRole role, std::uint64_t seed, const ProblemSpec& spec, std::int64_t b,
                  std::int64_t h, std::int64_t position, std::int64_t d) {
  std::uint64_t key = mix(seed ^ (static_cast<std::uint64_t>(role) << 56));
  key = mix(key ^ static_cast<std::uint64_t>(b * heads_of(role, spec) + h));
  key = mix(key ^ static_cast<std::uint64_t>(position));
  key = mix(key ^ static_cast<std::uint64_t>(d));
  const float unit = static_cast<float>(key >> 40) * (1.0f / 16777216.0f);  // [0, 1), 24 bits
  return round_to(spec.dtype, 2.0f * unit - 1.0f);
}

void generate_tensor(TensorRole role, std::uint64_t seed, const ProblemSpec& spec,
                     std::span<const std::int64_t> positions, std::span<float> out) {
  const std::int64_t heads = heads_of(role, spec);
  const auto n = static_cast<std::int64_t>(positions.size());
  if (static_cast<std::int64_t>(out.size()) != spec.batch * heads * n * spec.head_dim)
    throw std::invalid_argument("generate_tensor: output size does not match the shape");
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < spec.batch; ++b)
    for (std::int64_t h = 0; h < heads; ++h) {
      float* row = out.data() + ((b * heads + h) * n) * spec.head_dim;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t d = 0; d < spec.head_dim; ++d)
          row[i * spec.head_dim + d] = input_value(role, seed, spec, b, h, positions[i], d);
    }
}

}  // namespace ringbench
