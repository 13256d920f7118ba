// The random patterns' one source of randomness: SplitMix64 (Steele, Lea, Flood 2014), a counter
// passed through a 64-bit finaliser. Every draw is a pure function of (seed, row, column), so
// every rank, every kernel and anyone rebuilding a mask from its spec gets the same blocks, with
// no generator state to share. Plain integer arithmetic only, so a device kernel can copy it.
#pragma once

#include <cstdint>

namespace ringbench {

inline constexpr std::uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio

// SplitMix64's finaliser: every input bit flips about half the output bits.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The start of row `row`'s stream for `seed`: rows of one seed, and seeds, are unrelated.
constexpr std::uint64_t stream_key(std::uint64_t seed, std::uint64_t row) {
  return mix64(mix64(seed) + (row + 1) * kSplitMixGamma);
}

// Draw `column` of row `row`'s stream: the seeded hash of (seed, row, column).
constexpr std::uint64_t seeded_hash(std::uint64_t seed, std::uint64_t row, std::uint64_t column) {
  return mix64(stream_key(seed, row) + (column + 1) * kSplitMixGamma);
}

// A hash as a number in [0, 1): its top 53 bits, exactly representable in a double.
constexpr double unit_interval(std::uint64_t hash) {
  return static_cast<double>(hash >> 11) * 0x1.0p-53;
}

// Row `row`'s stream drawn in order: the n-th call returns seeded_hash(seed, row, n).
class SplitMix64 {
 public:
  constexpr SplitMix64(std::uint64_t seed, std::uint64_t row) : state_(stream_key(seed, row)) {}
  constexpr std::uint64_t next() {
    state_ += kSplitMixGamma;
    return mix64(state_);
  }
  // Uniform in [0, n) for n >= 1, exactly: draws in the top partial range are rejected.
  constexpr std::uint64_t below(std::uint64_t n) {
    const std::uint64_t reject_below = (0 - n) % n;  // 2^64 mod n
    std::uint64_t x = next();
    while (x < reject_below) x = next();
    return x % n;
  }

 private:
  std::uint64_t state_;
};

}  // namespace ringbench
