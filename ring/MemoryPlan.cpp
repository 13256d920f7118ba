#include "ring/MemoryPlan.hpp"

#include "ring/UlyssesShape.hpp"

#include <algorithm>

#include "core/PatternSpec.hpp"

namespace ringbench {

namespace {

std::size_t values(const ProblemSpec& s, std::int64_t heads, std::int64_t tokens) {
  return static_cast<std::size_t>(s.batch * heads * tokens * s.head_dim);
}
std::size_t q_elements(const ProblemSpec& s, std::int64_t n) {
  return values(s, s.heads, n);
}
std::size_t kv_elements(const ProblemSpec& s, std::int64_t n) {  // K and V of one block
  return 2 * values(s, s.effective_kv_heads(), n);
}
std::size_t rows_of(const ProblemSpec& s, std::int64_t n) {  // query rows over all heads
  return static_cast<std::size_t>(s.batch * s.heads * n);
}
// The fp32 dK/dV a block carries in the backward pass; none in a forward-only case.
std::size_t dkv_bytes(const BenchmarkCase& c, std::int64_t n) {
  return has_backward(c.pass) ? kv_elements(c.spec, n) * sizeof(float) : 0;
}
std::size_t for_backward(const BenchmarkCase& c, std::size_t bytes) {
  return has_backward(c.pass) ? bytes : 0;
}
std::int64_t whole_in_period(const ProblemSpec& s, std::int64_t keys) {
  const std::int64_t period = make_pattern(s.mask, s.seq_len)->head_period();
  return std::min<std::int64_t>(s.seq_len, std::max<std::int64_t>(1, keys / period) * period);
}

}  // namespace

std::int64_t check_chunk(const ProblemSpec& s) {
  return whole_in_period(s, 1 << 16);
}

std::int64_t gradient_reference_chunk(const ProblemSpec& s) {
  return whole_in_period(s, 1 << 14);
}

std::size_t device_positions_bytes(std::int64_t tokens) {
  return 2 * sizeof(std::int32_t) * static_cast<std::size_t>(tokens);
}

std::size_t gathered_bytes(const ProblemSpec& s, std::int64_t rows, std::size_t value_bytes,
                           std::int64_t dim) {
  return static_cast<std::size_t>(s.batch * s.heads * rows * dim) * value_bytes;
}

std::size_t dilated_forward_bytes(const ProblemSpec& s, std::int64_t n) {
  // at most every row gathered (rate 1): Q, K and V of every query head, the fp32 output, LSE
  const std::size_t e = element_bytes(s.dtype);
  return 3 * gathered_bytes(s, n, e, s.head_dim) +
         gathered_bytes(s, n, sizeof(float), s.head_dim + 1);
}

std::size_t dilated_backward_bytes(const ProblemSpec& s, std::int64_t n) {
  // at most every row gathered (rate 1), both sides: Q, dO, K, V in the input type; dQ, dK, dV
  // in fp32; LSE and D
  const std::size_t e = element_bytes(s.dtype), f = sizeof(float);
  return 4 * gathered_bytes(s, n, e, s.head_dim) + 3 * gathered_bytes(s, n, f, s.head_dim) +
         2 * gathered_bytes(s, n, f, 1);
}

std::size_t gradient_reference_bytes(const ProblemSpec& s, std::int64_t n) {
  const std::int64_t c = gradient_reference_chunk(s), kv = s.effective_kv_heads();
  const std::size_t e = element_bytes(s.dtype), f = sizeof(float);
  return 2 * rows_of(s, n) * f                                   // LSE, D
         + values(s, s.heads, n) * f + 2 * values(s, kv, n) * f  // dQ, dK, dV references
         + 2 * values(s, std::max(s.heads, kv), c) * e           // a chunk's tensors
         + 2 * values(s, kv, std::max(n, c)) * f                 // discarded dK/dV
         + values(s, s.heads, c) * f + 2 * rows_of(s, c) * f     // discarded dQ, LSE/D chunk
         + device_positions_bytes(std::max(n, c))                // the kernel's positions
         + (make_pattern(s.mask, s.seq_len)->mask_terms()        // and its gathered rows
                ? 0
                : dilated_backward_bytes(s, std::max(n, c)));
}

std::size_t pattern_bitmap_bytes(const AttentionPattern& pattern, std::int64_t seq_len) {
  const auto terms = pattern.mask_terms();
  if (!terms || !terms->block_map || terms->block <= 0) return 0;
  const std::int64_t blocks = seq_len / terms->block;
  return static_cast<std::size_t>(blocks * ((blocks + 31) / 32)) * sizeof(std::uint32_t);
}

std::size_t own_kernel_bytes(const BenchmarkCase& c, std::int64_t n) {
  const auto pattern = make_pattern(c.spec.mask, c.spec.seq_len);
  std::size_t bytes = 0;
  // block patterns keep their bitmap on the device: the step kernel and the checker, and with a
  // backward its kernel and the gradient reference, each hold one
  const std::size_t bitmaps = has_backward(c.pass) ? 4 : 2;
  if (!pattern->dense_kind()) bytes += bitmaps * pattern_bitmap_bytes(*pattern, c.spec.seq_len);
  // dilated pairs gather their rows: the step kernel's buffers and the checker's, and the
  // backward kernel's (the gradient reference counts its own)
  if (!pattern->mask_terms()) {
    bytes += dilated_forward_bytes(c.spec, n) +
             dilated_forward_bytes(c.spec, std::max(n, check_chunk(c.spec)));
    if (has_backward(c.pass)) bytes += dilated_backward_bytes(c.spec, n);
  }
  return bytes;
}

DeviceTensorBytes device_tensor_bytes(const BenchmarkCase& c, std::int64_t n) {
  const std::size_t e = element_bytes(c.spec.dtype);
  return {q_elements(c.spec, n) * e, kv_elements(c.spec, n) * e, dkv_bytes(c, n),
          q_elements(c.spec, n) * sizeof(float), rows_of(c.spec, n) * sizeof(float)};
}

std::size_t row_staging_bytes(const BenchmarkCase& c, std::int64_t n, RankRole role) {
  if (role != RankRole::linked) return 0;
  const bool rows = make_pattern(c.spec.mask, c.spec.seq_len)->reads_row_subsets();
  return rows ? 2 * device_tensor_bytes(c, n).kv : 0;
}

DeviceMemoryPlan plan_device_rank(const BenchmarkCase& c, std::int64_t n, RankRole role) {
  const ProblemSpec& s = c.spec;
  const std::size_t e = element_bytes(s.dtype);
  const DeviceTensorBytes t = device_tensor_bytes(c, n);
  DeviceMemoryPlan p;
  p.q = t.q;
  // the local block and the receive buffers
  p.kv_blocks = (1 + received_blocks(c, static_cast<int>(s.seq_len / n))) * (t.kv + t.dkv);
  p.output = t.o + t.lse;
  p.positions = device_positions_bytes(std::max(n, check_chunk(s)));
  if (c.check && c.check_rows == 0)  // sampled rows are checked on the host
    p.check = p.output + kv_elements(s, check_chunk(s)) * e +
              for_backward(c, gradient_reference_bytes(s, n));
  // dO, dQ, D, the share and the finished dK/dV, the backward kernel's positions
  p.backward = for_backward(c, p.q + p.output + 2 * t.dkv + device_positions_bytes(n));
  if (role == RankRole::emulated) p.emulation = t.kv;
  p.staging = row_staging_bytes(c, n, role);
  p.kernels = own_kernel_bytes(c, n);
  return p;
}

int received_blocks(const BenchmarkCase& c, int ranks) {
  if (shards_heads(c.scheme) || ranks == 1) return 0;  // by heads (UlyssesRing); a ring of one
  if (c.scheme == SchemeKind::doublering) {
    const int inner = c.scheme_group_ranks, outer = ranks / inner;
    return (inner > 1 ? 2 : 0) + (outer > 1 ? 2 : 0);
  }
  return gathers_blocks(c.scheme) ? ranks - 1 : 2;
}

std::size_t scheme_rank_bytes(const BenchmarkCase& c, int ranks) {
  if (shards_heads(c.scheme)) return ulysses_rank_bytes(c, ranks);
  const bool outer_ring = c.scheme == SchemeKind::doublering && ranks / c.scheme_group_ranks > 1;
  if (!outer_ring || !has_backward(c.pass)) return 0;
  return 2 * travelling_block(c, c.spec.seq_len / ranks).dkv;
}

std::size_t plan_host_rank(const ProblemSpec& spec, std::int64_t n, bool backward, int received) {
  // Q, O, the K/V blocks (local + receive buffers), LSE; all fp32. The backward adds dO, dQ, D,
  // the dK/dV accumulators travelling with each of the three blocks, this rank's share, and the
  // finished gradients of its own keys.
  const std::size_t q = q_elements(spec, n), kv = kv_elements(spec, n), rows = rows_of(spec, n);
  const std::size_t blocks = 1 + static_cast<std::size_t>(received);
  const std::size_t forward = 2 * q + blocks * kv + rows;
  // (the accumulators behind every block, this rank's share and its finished gradients)
  const std::size_t extra = backward ? 2 * q + (blocks + 2) * kv + rows : 0;
  return sizeof(float) * (forward + extra);
}

TravellingBlock travelling_block(const BenchmarkCase& c, std::int64_t n) {
  const std::size_t e = c.device == DeviceKind::cpu ? sizeof(float) : element_bytes(c.spec.dtype);
  return {kv_elements(c.spec, n) * e, dkv_bytes(c, n)};
}

std::size_t plan_rank_bytes(const BenchmarkCase& c, std::int64_t n, RankRole role) {
  const int ranks = static_cast<int>(c.spec.seq_len / n);
  const int received = received_blocks(c, ranks);
  return scheme_rank_bytes(c, ranks) +
         (c.device == DeviceKind::cpu ? plan_host_rank(c.spec, n, has_backward(c.pass), received)
                                      : plan_device_rank(c, n, role).total());
}

}  // namespace ringbench
