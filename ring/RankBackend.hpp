// One rank's execution resources for a case: its buffers, block kernel, transport and timer. The
// ring algorithm and the benchmark harness use only this interface; CpuBackend and the CUDA
// backend implement it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/ErrorSums.hpp"
#include "core/ReferenceAttention.hpp"
#include "core/ReferenceBackward.hpp"
#include "core/SequenceLayout.hpp"
#include "distributed/Transport.hpp"
#include "ring/BlockBackwardKernel.hpp"
#include "ring/BlockKernel.hpp"
#include "ring/StepTimer.hpp"

namespace ringbench {

struct RankBuffers {
  const void* q = nullptr;
  const void* kv_local = nullptr;
  void* kv_recv[2] = {nullptr, nullptr};  // double buffer: one being read, one being received
  std::size_t kv_bytes = 0;               // one packed K/V block
  float* o = nullptr;
  float* lse = nullptr;

  // The backward pass (cases with pass bwd or fwdbwd; null and 0 otherwise). Its travelling block
  // is the K/V block followed by the block's fp32 gradient accumulators (dK then dV, dkv_bytes),
  // so kv_local and both kv_recv hold kv_bytes + dkv_bytes; kv_local's gradient part stays zero:
  // it is the empty accumulator that step 0 sends along with the local K/V.
  const void* d_o = nullptr;  // dO, like q
  float* dq = nullptr;        // fp32, like o
  float* delta = nullptr;     // D = rowsum(dO ∘ O), like lse
  float* dkv_part = nullptr;  // this rank's dK, dV for the block in hand
  float* dkv_home = nullptr;  // where the finished dK, dV of this rank's own keys arrive
  std::size_t dkv_bytes = 0;  // dK and dV of one block, fp32

  // The K/V block's shape: planes (K then V, each batch x kv heads) of tokens rows, for
  // exchanges that move some rows only (ring/BlockTravel).
  std::int64_t kv_planes = 0, kv_tokens = 0;

  // Every receive buffer: the two of kv_recv (ring), or one per other rank's block (the
  // gathering schemes keep every block; kv_recv then points at the first two).
  std::vector<void*> kv_slots = {};
};

// Frobenius sums of one rank's gradients against a reference (summed over ranks by the check).
struct GradientSums {
  FrobeniusSums dq, dk, dv;
};

// The gradients a backward pass leaves on one rank, as host floats.
struct GradientResult {
  std::vector<float> dq;      // [batch, heads, rows, head_dim]: this rank's queries
  std::vector<float> dk, dv;  // [batch, kv_heads, rows, head_dim]: this rank's keys
};

inline constexpr const char* kTelemetryKeys[] = {"sm_clock_mhz", "power_w", "temperature_c",
                                                 "memory_used_bytes"};

class RankBackend {
 public:
  virtual ~RankBackend() = default;
  virtual std::string device_name() const = 0;
  virtual std::string pci_bus_id() const = 0;
  virtual std::size_t allocated_bytes() const = 0;  // everything this rank holds for the case

  // Fills Q, K and V of this rank's tokens (`runs`) from the seeded generator, where the rank
  // keeps them (host or device).
  virtual void generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) = 0;
  virtual const RankBuffers& buffers() const = 0;
  // Where a scheme that reshards its inputs (ring/UlyssesRing: heads over a group's tokens) writes
  // them instead of generate_inputs, in the backend's memory and value type: Q and dO [batch,
  // heads, tokens, head_dim], K then V [batch, kv heads, tokens, head_dim]; d_o is null without
  // the backward.
  struct Inputs {
    void *q, *kv, *d_o;
  };
  virtual Inputs inputs() = 0;
  virtual BlockKernel& kernel() = 0;
  virtual Transport& transport() = 0;
  virtual StepTimer& timer() = 0;
  virtual void synchronize() = 0;             // all queued work of this rank has completed
  virtual AttentionResult read_result() = 0;  // the running O and LSE, as host floats
  // Rows `local` (ascending local indices) of the running O and LSE in every batch and head:
  // [batch * heads][local.size()] (the sampled-row check of a long member reads only these).
  virtual AttentionResult read_rows(std::span<const std::int64_t> local) {
    return pick_rows(read_result(), rows_per_head(), head_dim(), local);
  }
  virtual std::int64_t rows_per_head() const = 0;  // the rank's local tokens
  virtual std::int64_t head_dim() const = 0;

  // The backward pass: its kernel, and the transport of its (K, V, dK, dV) blocks. A ring
  // simulated in one process needs a transport that moves what the predecessor sends (the
  // accumulators change on the way), not copies of the owners' blocks. Backends without a
  // backward pass throw ConfigError naming "pass".
  virtual BlockBackwardKernel& backward_kernel() = 0;
  virtual Transport& backward_transport() { return transport(); }
  // A double ring's outer ring (ring/DoubleRing), beside transport() and backward_transport()
  // (its inner ring): the link that brings K/V blocks from the previous inner ring (both passes),
  // and the backward's link of the dK/dV accumulators. Null for every other scheme.
  virtual Transport* outer_transport() { return nullptr; }
  virtual Transport* outer_accumulator_transport() { return nullptr; }
  virtual GradientResult read_gradients() = 0;
  // The backward check on the device, for sizes the host's float64 reference cannot reach (the
  // check decides; backends without a device reference return false and are checked on the
  // host): this rank's reference LSE and D over the whole key sequence, then, given every query's
  // ([batch*heads, seq_len] in position order), the Frobenius sums of its dQ and of its keys' dK,
  // dV against the reference backward.
  virtual bool has_device_reference() const { return false; }
  virtual RowStats device_reference_row_stats(std::uint64_t seed);
  virtual GradientSums compare_gradients_on_device(std::uint64_t seed, const RowStats& all);
  // Compares this rank's output rows with a reference over the whole key sequence: float64 on the
  // host, or the fp32 GPU reference kernel for sizes the host cannot reach.
  virtual ErrorSums compare_with_reference(std::uint64_t seed) = 0;
  // Clocks, power and the like (keys from kTelemetryKeys), sampled now; empty where the device
  // has none to report.
  virtual std::map<std::string, double> telemetry() { return {}; }
  // The device's energy counter in joules (NVML on GPUs); nullopt where there is none (CPU).
  virtual std::optional<double> energy_j() { return std::nullopt; }
  // Device and library facts for the run's attributes (GPU model, driver, NCCL, ...).
  virtual std::map<std::string, std::string> provenance() const { return {}; }
};

inline RowStats RankBackend::device_reference_row_stats(std::uint64_t) {
  throw std::logic_error("this backend has no device reference for the backward check");
}
inline GradientSums RankBackend::compare_gradients_on_device(std::uint64_t, const RowStats&) {
  throw std::logic_error("this backend has no device reference for the backward check");
}

}  // namespace ringbench
