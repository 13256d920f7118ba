#include "core/patterns/PositionMath.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

namespace ringbench {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a > 0) ? q + 1 : q;
}

std::int64_t count_at_or_below(const PositionRun& run, std::int64_t x) {
  if (run.length <= 0 || x < run.global_start) return 0;
  return std::min(run.length, (x - run.global_start) / run.stride + 1);
}

std::int64_t count_in(const PositionRun& run, std::int64_t lo, std::int64_t hi) {
  if (hi < lo) return 0;
  return count_at_or_below(run, hi) - count_at_or_below(run, lo - 1);
}

PositionRun restrict_to(const PositionRun& run, std::int64_t lo, std::int64_t hi) {
  // token j of the run is at global_start + j·stride; keep the j whose position is in [lo, hi]
  const std::int64_t first = std::max<std::int64_t>(0, ceil_div(lo - run.global_start, run.stride));
  const std::int64_t last = std::min(run.length - 1, floor_div(hi - run.global_start, run.stride));
  PositionRun out = run;
  out.local_start = run.local_start + first;
  out.global_start = run.global_start + first * run.stride;
  out.length = std::max<std::int64_t>(0, last - first + 1);
  return out;
}

namespace {
// x with (a·x) mod m = 1, for a and m coprime (extended Euclid).
std::int64_t inverse_mod(std::int64_t a, std::int64_t m) {
  std::int64_t r0 = m, r1 = a % m, s0 = 0, s1 = 1;
  while (r1 != 0) {
    const std::int64_t q = r0 / r1;
    r0 = std::exchange(r1, r0 - q * r1);
    s0 = std::exchange(s1, s0 - q * s1);
  }
  return ((s0 % m) + m) % m;
}
}  // namespace

PositionRun restrict_to_residue(const PositionRun& run, std::int64_t residue,
                                std::int64_t modulus) {
  PositionRun out = run;
  out.length = 0;
  if (run.length <= 0) return out;
  // token j is in the class when j·stride = residue - global_start (mod modulus): solvable when
  // the gcd divides the right side, then j runs through one class modulo modulus / gcd
  const std::int64_t g = std::gcd(run.stride, modulus);
  const std::int64_t need = ((residue - run.global_start) % modulus + modulus) % modulus;
  if (need % g != 0) return out;
  const std::int64_t period = modulus / g;
  const std::int64_t first =
      (need / g) % period * inverse_mod((run.stride / g) % period, period) % period;
  if (first >= run.length) return out;
  out.local_start = run.local_start + first;  // local indices are no longer consecutive
  out.global_start = run.global_start + first * run.stride;
  out.length = (run.length - 1 - first) / period + 1;
  out.stride = run.stride * period;
  return out;
}

std::int64_t floor_sum(std::int64_t n, std::int64_t m, std::int64_t a, std::int64_t b) {
  // AtCoder Library's floor_sum_unsigned: exact modulo 2^64 for n, m < 2^32, so exact here
  using u64 = std::uint64_t;
  u64 un = static_cast<u64>(n), um = static_cast<u64>(m), ua = static_cast<u64>(a),
      ub = static_cast<u64>(b), total = 0;
  while (true) {
    if (ua >= um) {
      total += un * (un - 1) / 2 * (ua / um);
      ua %= um;
    }
    if (ub >= um) {
      total += un * (ub / um);
      ub %= um;
    }
    const u64 y_max = ua * un + ub;
    if (y_max < um) break;
    un = y_max / um;
    ub = y_max % um;
    std::swap(um, ua);
  }
  return static_cast<std::int64_t>(total);
}

std::int64_t sum_keys_at_or_below(const PositionRun& q, const PositionRun& k, std::int64_t offset) {
  if (q.length <= 0 || k.length <= 0) return 0;
  // query i sees x_i = q_i + offset - k.global_start, growing with i; its count is
  // clamp(floor(x_i / t) + 1, 0, m): 0 while x_i < 0, m once x_i >= (m - 1)·t, a floor between
  const std::int64_t n = q.length, s = q.stride, m = k.length, t = k.stride;
  const std::int64_t x0 = q.global_start + offset - k.global_start;
  const std::int64_t rising = std::clamp<std::int64_t>(ceil_div(-x0, s), 0, n);
  const std::int64_t saturated = std::clamp<std::int64_t>(ceil_div((m - 1) * t - x0, s), rising, n);
  const std::int64_t ramp = saturated - rising;
  std::int64_t total = (n - saturated) * m;
  if (ramp > 0) total += ramp + floor_sum(ramp, t, s, x0 + rising * s);
  return total;
}

std::int64_t count_in_band(const PositionRun& q, const PositionRun& k, std::int64_t lo,
                           std::int64_t hi) {
  return sum_keys_at_or_below(q, k, hi) - sum_keys_at_or_below(q, k, lo - 1);
}

}  // namespace ringbench
