// The hash behind the seeded input generator, usable from host and device code so CPU ranks,
// GPU ranks and the checks all build bit-identical inputs.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define RINGBENCH_HOST_DEVICE __host__ __device__
#else
#define RINGBENCH_HOST_DEVICE
#endif

namespace ringbench {

// splitmix64 finaliser: a cheap, well-mixed hash, good enough for benchmark inputs.
RINGBENCH_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1) with 24 random bits, before rounding to the element type. `head_index` is
// batch * heads_of_tensor + head.
RINGBENCH_HOST_DEVICE inline float input_unit_value(std::uint32_t role, std::uint64_t seed,
                                                    std::int64_t head_index, std::int64_t position,
                                                    std::int64_t d) {
  std::uint64_t key = mix64(seed ^ (static_cast<std::uint64_t>(role) << 56));
  key = mix64(key ^ static_cast<std::uint64_t>(head_index));
  key = mix64(key ^ static_cast<std::uint64_t>(position));
  key = mix64(key ^ static_cast<std::uint64_t>(d));
  const float unit = static_cast<float>(key >> 40) * (1.0f / 16777216.0f);
  return 2.0f * unit - 1.0f;
}

}  // namespace ringbench
