#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdexcept>

#include "core/InputHash.hpp"
#include "distributed/cuda/CudaCheck.hpp"
#include "distributed/cuda/SelectionTable.cuh"
#include "ring/cuda/DeviceFill.cuh"

namespace ringbench {

namespace {

constexpr int kMaxRuns = 4;

// Runs by value: kernels get them as parameters, no device allocation.
struct RunTable {
  PositionRun runs[kMaxRuns];
  int count = 0;
  std::int64_t tokens = 0;

  __device__ std::int64_t position(std::int64_t local) const {
    for (int r = 0; r < count; ++r)
      if (local < runs[r].local_start + runs[r].length)
        return runs[r].global_start + (local - runs[r].local_start) * runs[r].stride;
    return -1;
  }
};

RunTable make_table(std::span<const PositionRun> runs) {
  if (runs.size() > kMaxRuns) throw std::invalid_argument("more than 4 position runs per rank");
  RunTable t;
  for (const auto& r : runs) {
    t.runs[t.count++] = r;
    t.tokens += r.length;
  }
  return t;
}

unsigned blocks_for(std::size_t count, unsigned threads) {
  const std::size_t b = (count + threads - 1) / threads;
  return static_cast<unsigned>(b < 65535u * 32u ? b : 65535u * 32u);
}

__global__ void positions_kernel(std::int32_t* out, RunTable table) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < table.tokens;
       i += std::int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<std::int32_t>(table.position(i));
}

__global__ void constant_kernel(float* out, std::size_t count, float value) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < count;
       i += std::size_t(gridDim.x) * blockDim.x)
    out[i] = value;
}

template <typename T>
__device__ T convert(float x);
template <>
__device__ __nv_bfloat16 convert(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __half convert(float x) {
  return __float2half_rn(x);
}

template <typename T>
__global__ void inputs_kernel(T* out, RunTable table, std::uint32_t role, std::uint64_t seed,
                              std::int64_t head_rows, std::int64_t dim) {
  const std::int64_t total = head_rows * table.tokens * dim;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t d = i % dim, token = (i / dim) % table.tokens,
                       head = i / (dim * table.tokens);
    out[i] = convert<T>(input_unit_value(role, seed, head, table.position(token), d));
  }
}

template <typename T>
__global__ void rows_kernel(T* out, RunTable table, SelectionTable selected, std::uint32_t role,
                            std::uint64_t seed, std::int64_t head_rows, std::int64_t dim) {
  const std::int64_t rows = selected.before[selected.count];
  const std::int64_t total = head_rows * rows * dim;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t d = i % dim, k = (i / dim) % rows, head = i / (dim * rows);
    const std::int64_t local = selected.row(k);
    out[(head * table.tokens + local) * dim + d] =
        convert<T>(input_unit_value(role, seed, head, table.position(local), d));
  }
}

}  // namespace

void fill_positions(std::int32_t* positions, std::span<const PositionRun> runs,
                    cudaStream_t stream) {
  const RunTable t = make_table(runs);
  positions_kernel<<<blocks_for(t.tokens, 256), 256, 0, stream>>>(positions, t);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void fill_constant(float* data, std::size_t count, float value, cudaStream_t stream) {
  constant_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(data, count, value);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void generate_device_tensor(TensorRole role, std::uint64_t seed, const ProblemSpec& spec,
                            std::span<const PositionRun> runs, void* out, cudaStream_t stream) {
  const RunTable t = make_table(runs);
  const std::int64_t head_rows = spec.batch * heads_of(role, spec);
  const std::size_t count = static_cast<std::size_t>(head_rows * t.tokens * spec.head_dim);
  const auto r = static_cast<std::uint32_t>(role);
  if (spec.dtype == DType::bf16)
    inputs_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(static_cast<__nv_bfloat16*>(out), t,
                                                              r, seed, head_rows, spec.head_dim);
  else if (spec.dtype == DType::fp16)
    inputs_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(static_cast<__half*>(out), t, r, seed,
                                                              head_rows, spec.head_dim);
  else
    throw std::invalid_argument("GPU inputs are bf16 or fp16");
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void generate_device_kv_block(std::uint64_t seed, const ProblemSpec& spec,
                              std::span<const PositionRun> runs, void* kv, cudaStream_t stream) {
  std::int64_t tokens = 0;
  for (const PositionRun& r : runs) tokens += r.length;
  const std::size_t half =
      static_cast<std::size_t>(spec.batch * spec.effective_kv_heads() * tokens * spec.head_dim) *
      element_bytes(spec.dtype);
  generate_device_tensor(TensorRole::k, seed, spec, runs, kv, stream);
  generate_device_tensor(TensorRole::v, seed, spec, runs, static_cast<char*>(kv) + half, stream);
}

void generate_device_kv_rows(std::uint64_t seed, const ProblemSpec& spec,
                             std::span<const PositionRun> runs, std::span<const RowSelection> rows,
                             void* kv, cudaStream_t stream) {
  if (rows.size() > kMaxSelections) return generate_device_kv_block(seed, spec, runs, kv, stream);
  const RunTable t = make_table(runs);
  SelectionTable sel;
  for (const RowSelection& r : rows) sel.add(r);
  if (sel.total() == 0) return;
  const std::int64_t head_rows = spec.batch * spec.effective_kv_heads();
  const std::size_t count =
      static_cast<std::size_t>(head_rows * sel.before[sel.count] * spec.head_dim);
  const std::size_t half = static_cast<std::size_t>(head_rows * t.tokens * spec.head_dim);
  for (const TensorRole role : {TensorRole::k, TensorRole::v}) {
    const auto r = static_cast<std::uint32_t>(role);
    const std::size_t offset = role == TensorRole::k ? 0 : half;
    if (spec.dtype == DType::bf16)
      rows_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(
          static_cast<__nv_bfloat16*>(kv) + offset, t, sel, r, seed, head_rows, spec.head_dim);
    else if (spec.dtype == DType::fp16)
      rows_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(
          static_cast<__half*>(kv) + offset, t, sel, r, seed, head_rows, spec.head_dim);
    else
      throw std::invalid_argument("GPU inputs are bf16 or fp16");
    RINGBENCH_CHECK_CUDA(cudaGetLastError());
  }
}

}  // namespace ringbench
