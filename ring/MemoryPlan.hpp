// The bytes one rank of a case allocates, worked out before anything is: the backends allocate
// exactly these buffers, the factories refuse cases that do not fit with these numbers, and
// `ringbench plan` predicts memory per GPU with the same functions (no CUDA needed to ask).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/AttentionPattern.hpp"
#include "core/BenchmarkCase.hpp"

namespace ringbench {

// The tensors of one GPU rank in bytes: Q (and dO) in the input type, its K/V block in the input
// type, the block's fp32 dK/dV (0 forward-only), the fp32 output (and dQ) and LSE (and D).
struct DeviceTensorBytes {
  std::size_t q = 0, kv = 0, dkv = 0, o = 0, lse = 0;
};
DeviceTensorBytes device_tensor_bytes(const BenchmarkCase& c, std::int64_t local_len);

// Where a GPU rank's K/V blocks come from: its own process (resident: virtual ranks, or a ring
// of one), other GPUs over NCCL (linked: the rows of a dilated ring's far steps travel packed,
// through two staging blocks), or generated (an emulated ring's member).
enum class RankRole { resident, linked, emulated };

// Device bytes of one GPU rank. `kernels` is what the own kernels hold for a pattern (block
// bitmaps, the gathered rows of dilated pairs); cuDNN's graphs add their workspace at run time.
struct DeviceMemoryPlan {
  std::size_t q = 0, kv_blocks = 0, output = 0, positions = 0, check = 0;
  std::size_t backward = 0;   // dO, dQ, D, this rank's dK/dV share and the finished dK/dV
  std::size_t emulation = 0;  // an emulated member's scratch block: where the real link writes
  std::size_t staging = 0;    // a linked rank's packed rows, sent and received (row patterns)
  std::size_t kernels = 0;
  // What the backend itself allocates (the kernels count theirs).
  std::size_t buffers() const {
    return q + kv_blocks + output + positions + check + backward + emulation + staging;
  }
  std::size_t total() const { return buffers() + kernels; }
};
DeviceMemoryPlan plan_device_rank(const BenchmarkCase& c, std::int64_t local_len,
                                  RankRole role = RankRole::resident);
// The staging a linked rank's transport allocates (DeviceMemoryPlan::staging).
std::size_t row_staging_bytes(const BenchmarkCase& c, std::int64_t local_len, RankRole role);

// Receive buffers of a rank's K/V blocks: two for the ring (one read, one received), one per
// other rank for the gathering schemes (every block stays), two for each of a double ring's rings
// that has more than one member (its inner ring's first, then its outer ring's).
int received_blocks(const BenchmarkCase& c, int ranks);

// What a scheme holds per rank beside the backend's buffers: Ulysses' head shards and exchange
// buffers (ulysses_rank_bytes), a double ring's two dK/dV accumulators on its outer ring.
std::size_t scheme_rank_bytes(const BenchmarkCase& c, int ranks);

// Bytes a GPU keeps free beside a run (NCCL's buffers, the CUDA context): runs refuse cases that
// leave less.
inline constexpr double kDeviceReservedBytes = 1.0 * (1 << 30);

// Host bytes of one CPU rank (fp32 throughout).
// `received`: its receive buffers (received_blocks).
std::size_t plan_host_rank(const ProblemSpec& spec, std::int64_t local_len, bool backward,
                           int received = 2);

// The bytes one rank of `c` holds on its device (host memory for CPU ranks, else GPU memory,
// without cuDNN's workspace).
std::size_t plan_rank_bytes(const BenchmarkCase& c, std::int64_t local_len,
                            RankRole role = RankRole::resident);

// What travels the ring per block: K and V as the rank holds them (fp32 on CPU ranks, the input
// type on GPUs) and, with a backward pass, their fp32 dK and dV.
struct TravellingBlock {
  std::size_t kv = 0, dkv = 0;
};
TravellingBlock travelling_block(const BenchmarkCase& c, std::int64_t local_len);

// Keys per chunk of the GPU reference check: bounded so the check fits beside the run, whole in
// every dilation rate (dilated pairs gather whole rows).
std::int64_t check_chunk(const ProblemSpec& s);

// The pieces, each used by the class that allocates it.
std::size_t device_positions_bytes(std::int64_t tokens);  // DevicePositions: q and kv int32
std::size_t gradient_reference_bytes(const ProblemSpec& s, std::int64_t local_len);
std::int64_t gradient_reference_chunk(const ProblemSpec& s);
std::size_t pattern_bitmap_bytes(const AttentionPattern& pattern, std::int64_t seq_len);
std::size_t dilated_forward_bytes(const ProblemSpec& s, std::int64_t local_len);
std::size_t dilated_backward_bytes(const ProblemSpec& s, std::int64_t local_len);
// Bytes of `rows` gathered rows of every query head, `dim` values of `value_bytes` each.
std::size_t gathered_bytes(const ProblemSpec& s, std::int64_t rows, std::size_t value_bytes,
                           std::int64_t dim);
// What the own kernels of a GPU rank hold for the case's pattern (DeviceMemoryPlan::kernels).
std::size_t own_kernel_bytes(const BenchmarkCase& c, std::int64_t local_len);

}  // namespace ringbench
