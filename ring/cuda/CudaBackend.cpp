#include "ring/cuda/CudaBackend.hpp"

#include <algorithm>

#include "core/Error.hpp"
#include "core/PatternSpec.hpp"
#include "distributed/cuda/EventWait.hpp"
#include "ring/cuda/DeviceFill.cuh"

namespace ringbench {

namespace {
void require_backward(const BenchmarkCase& c) {
  if (!has_backward(c.pass))
    throw ConfigError("pass", std::string(to_string(c.pass)),
                      "bwd or fwdbwd for a backward pass (this case was planned forward-only)");
}
std::vector<float> to_host(const float* device, std::size_t count) {
  std::vector<float> host(count);
  RINGBENCH_CHECK_CUDA(
      cudaMemcpy(host.data(), device, count * sizeof(float), cudaMemcpyDeviceToHost));
  return host;
}
}  // namespace

// The backward's timer and transports see one exchange more than the ring has steps: the hop
// that brings each block's finished dK/dV home.
CudaBackend::CudaBackend(const BenchmarkCase& c, std::int64_t local_len, int steps,
                         const GpuInfo& gpu, const CudaRankParts& parts)
    : case_(c),
      n_(local_len),
      gpu_(gpu),
      comm_(parts.comm),
      q_(device_tensor_bytes(c, local_len).q),
      kv_local_(device_tensor_bytes(c, local_len).kv + device_tensor_bytes(c, local_len).dkv),
      o_(device_tensor_bytes(c, local_len).o),
      lse_(device_tensor_bytes(c, local_len).lse),
      d_o_(has_backward(c.pass) ? q_.bytes() : 0),
      dq_(has_backward(c.pass) ? o_.bytes() : 0),
      delta_(has_backward(c.pass) ? lse_.bytes() : 0),
      dkv_part_(device_tensor_bytes(c, local_len).dkv),
      dkv_home_(device_tensor_bytes(c, local_len).dkv),
      kernel_(parts.kernel(compute_.get())),
      backward_kernel_(has_backward(c.pass) ? parts.backward_kernel(compute_.get()) : nullptr),
      kernel_bytes_(parts.kernel_bytes),
      role_(parts.role),
      checker_(c.spec, KernelKind::reference, local_len, compute_.get()),
      transport_(parts.transport(compute_.get())),
      backward_transport_(parts.backward_transport ? parts.backward_transport(compute_.get())
                                                   : nullptr),
      outer_(parts.outer_transport ? parts.outer_transport(compute_.get()) : nullptr),
      outer_accumulators_(parts.outer_accumulator_transport
                              ? parts.outer_accumulator_transport(compute_.get())
                              : nullptr),
      timer_(compute_.get(), 2 * steps + 2),  // a double ring's backward: P + P/I + 1 hops
      nvml_(gpu.pci_bus_id) {
  for (int i = 0; i < received_blocks(c, steps); ++i) kv_recv_.emplace_back(kv_local_.bytes());
  const std::size_t dkv_bytes = device_tensor_bytes(c, local_len).dkv;
  const std::size_t kv_bytes = kv_local_.bytes() - dkv_bytes;
  buffers_ = {q_.get(),
              kv_local_.get(),
              {nullptr, nullptr},
              kv_bytes,
              o_.get<float>(),
              lse_.get<float>(),
              d_o_.get(),
              dq_.get<float>(),
              delta_.get<float>(),
              dkv_part_.get<float>(),
              dkv_home_.get<float>(),
              dkv_bytes};
  for (auto& b : kv_recv_) buffers_.kv_slots.push_back(b.get());
  for (std::size_t i = 0; i < 2 && i < kv_recv_.size(); ++i)
    buffers_.kv_recv[i] = kv_recv_[i].get();
  buffers_.kv_planes = 2 * c.spec.batch * c.spec.effective_kv_heads();
  buffers_.kv_tokens = local_len;
}

void CudaBackend::generate_inputs(std::uint64_t seed, std::span<const PositionRun> runs) {
  runs_.assign(runs.begin(), runs.end());
  generate_device_tensor(TensorRole::q, seed, case_.spec, runs, q_.get(), compute_.get());
  generate_device_kv_block(seed, case_.spec, runs, kv_local_.get(), compute_.get());
  // rows that never arrive (a dilated ring moves the rows read only) hold zeros, not stale bits
  for (DeviceBuffer& b : kv_recv_)
    RINGBENCH_CHECK_CUDA(cudaMemsetAsync(b.get(), 0, b.bytes(), compute_.get()));
  if (d_o_.bytes() > 0) {
    generate_device_tensor(TensorRole::d_o, seed, case_.spec, runs, d_o_.get(), compute_.get());
    // the local block's accumulators: the empty ones it starts its journey with (on the compute
    // stream, which every transfer of this rank is ordered after)
    RINGBENCH_CHECK_CUDA(cudaMemsetAsync(kv_local_.get<char>() + buffers_.kv_bytes, 0,
                                         buffers_.dkv_bytes, compute_.get()));
  }
  synchronize();
}

void CudaBackend::synchronize() {
  done_.record(compute_.get());
  if (comm_)
    comm_->wait(done_.get(), case_.timeout_s);
  else
    wait_with_deadline(done_.get(), case_.timeout_s);
}

AttentionResult CudaBackend::read_result() {
  synchronize();
  AttentionResult r{std::vector<float>(o_.bytes() / sizeof(float)),
                    std::vector<float>(lse_.bytes() / sizeof(float))};
  RINGBENCH_CHECK_CUDA(cudaMemcpy(r.o.data(), o_.get(), o_.bytes(), cudaMemcpyDeviceToHost));
  RINGBENCH_CHECK_CUDA(cudaMemcpy(r.lse.data(), lse_.get(), lse_.bytes(), cudaMemcpyDeviceToHost));
  return r;
}

AttentionResult CudaBackend::read_rows(std::span<const std::int64_t> local) {
  // one strided copy per row (all batches and heads at once): a 1M-token member's sampled rows
  // without copying its whole output to the host
  synchronize();
  const auto heads = static_cast<std::size_t>(case_.spec.batch * case_.spec.heads);
  const auto D = static_cast<std::size_t>(case_.spec.head_dim), n = static_cast<std::size_t>(n_);
  const std::size_t rows = local.size();
  AttentionResult r{std::vector<float>(heads * rows * D), std::vector<float>(heads * rows)};
  for (std::size_t i = 0; i < rows; ++i) {
    const auto row = static_cast<std::size_t>(local[i]);
    RINGBENCH_CHECK_CUDA(cudaMemcpy2D(r.o.data() + i * D, rows * D * sizeof(float),
                                      o_.get<float>() + row * D, n * D * sizeof(float),
                                      D * sizeof(float), heads, cudaMemcpyDeviceToHost));
    RINGBENCH_CHECK_CUDA(cudaMemcpy2D(r.lse.data() + i, rows * sizeof(float),
                                      lse_.get<float>() + row, n * sizeof(float), sizeof(float),
                                      heads, cudaMemcpyDeviceToHost));
  }
  return r;
}

void CudaBackend::reference_forward(std::uint64_t seed, float* ref_o, float* ref_lse) {
  // The fp32 GPU reference over the whole key sequence, in chunks of keys merged like ring steps.
  const ProblemSpec& s = case_.spec;
  const std::int64_t chunk = check_chunk(s);
  DeviceBuffer keys(device_tensor_bytes(case_, chunk).kv);
  const auto pattern = make_pattern(s.mask, s.seq_len);
  checker_.reset(ref_o, ref_lse);
  for (std::int64_t first = 0; first < s.seq_len; first += chunk) {
    const std::int64_t len = std::min(chunk, s.seq_len - first);
    const PositionRun run{0, first, len, 1};
    const std::size_t half = device_tensor_bytes(case_, len).kv / 2;
    generate_device_tensor(TensorRole::k, seed, s, {&run, 1}, keys.get(), compute_.get());
    generate_device_tensor(TensorRole::v, seed, s, {&run, 1}, keys.get<char>() + half,
                           compute_.get());
    checker_.attend_raw(q_.get(), runs_, keys.get(), keys.get<char>() + half, len, {&run, 1},
                        *pattern, ref_o, ref_lse, KernelKind::reference);
  }
}

ErrorSums CudaBackend::compare_with_reference(std::uint64_t seed) {
  DeviceBuffer ref_o(o_.bytes()), ref_lse(lse_.bytes());
  reference_forward(seed, ref_o.get<float>(), ref_lse.get<float>());
  const AttentionResult got = read_result();
  AttentionResult ref{to_host(ref_o.get<float>(), got.o.size()),
                      to_host(ref_lse.get<float>(), got.lse.size())};
  return compare_outputs(got.o, got.lse, ref.o, ref.lse);
}

RowStats CudaBackend::device_reference_row_stats(std::uint64_t seed) {
  require_backward(case_);
  DeviceBuffer ref_o(o_.bytes()), ref_lse(lse_.bytes());
  reference_forward(seed, ref_o.get<float>(), ref_lse.get<float>());
  gradient_reference_ = std::make_unique<GradientReference>(case_.spec, n_, compute_.get());
  return gradient_reference_->row_stats(ref_o.get<float>(), ref_lse.get<float>(), d_o_.get());
}

GradientSums CudaBackend::compare_gradients_on_device(std::uint64_t seed, const RowStats& all) {
  if (!gradient_reference_) device_reference_row_stats(seed);
  synchronize();
  const RankTensors mine{runs_,           q_.get(),         d_o_.get(),
                         kv_local_.get(), dq_.get<float>(), dkv_home_.get<float>()};
  GradientSums sums = gradient_reference_->compare(seed, mine, all);
  gradient_reference_.reset();
  return sums;
}

BlockBackwardKernel& CudaBackend::backward_kernel() {
  require_backward(case_);
  return *backward_kernel_;
}

Transport& CudaBackend::backward_transport() {
  return backward_transport_ ? *backward_transport_ : *transport_;
}

GradientResult CudaBackend::read_gradients() {
  require_backward(case_);
  synchronize();
  const std::size_t half = dkv_home_.bytes() / sizeof(float) / 2;
  return {to_host(dq_.get<float>(), dq_.bytes() / sizeof(float)),
          to_host(dkv_home_.get<float>(), half), to_host(dkv_home_.get<float>() + half, half)};
}

std::map<std::string, double> CudaBackend::telemetry() {
  std::map<std::string, double> t = nvml_.sample();
  std::size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) == cudaSuccess)
    t["memory_used_bytes"] = static_cast<double>(total - free);
  return t;
}

std::map<std::string, std::string> CudaBackend::provenance() const {
  auto p = gpu_provenance();
  p["gpu_name"] = gpu_.name;
  p["gpu_sm_count"] = std::to_string(gpu_.sm_count);
  p["gpu_compute_capability"] = std::to_string(gpu_.cc_major) + "." + std::to_string(gpu_.cc_minor);
  p["gpu_memory_bytes"] = std::to_string(gpu_.total_bytes);
  p["gpu_active_nvlinks"] = std::to_string(nvml_.active_nvlinks());
  p["gpu_telemetry"] = nvml_.available() ? "nvml" : "unavailable";
  p["kernel_selected"] = kernel_->name();
  if (backward_kernel_) p["backward_kernel_selected"] = backward_kernel_->name();
  return p;
}

}  // namespace ringbench
