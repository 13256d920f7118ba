#include "ring/cuda/DeviceRowCopier.hpp"

#include <algorithm>

#include "distributed/cuda/CudaCheck.hpp"
#include "distributed/cuda/EventWait.hpp"

namespace ringbench {

namespace {
__global__ void add_kernel(const float* from, float* to, std::size_t count) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < count;
       i += std::size_t(gridDim.x) * blockDim.x)
    to[i] += from[i];
}
}  // namespace

void DeviceRowCopier::copy_rows(const void* from, std::size_t from_pitch, void* to,
                                std::size_t to_pitch, std::size_t rows, std::size_t row_bytes) {
  if (rows == 0 || row_bytes == 0) return;
  if (rows == 1 || (from_pitch == row_bytes && to_pitch == row_bytes))
    RINGBENCH_CHECK_CUDA(
        cudaMemcpyAsync(to, from, rows * row_bytes, cudaMemcpyDeviceToDevice, stream_.get()));
  else
    RINGBENCH_CHECK_CUDA(cudaMemcpy2DAsync(to, to_pitch, from, from_pitch, row_bytes, rows,
                                           cudaMemcpyDeviceToDevice, stream_.get()));
}

void DeviceRowCopier::add(const float* from, float* to, std::size_t count) {
  if (count == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<std::size_t>((count + 255) / 256, 4096));
  add_kernel<<<blocks, 256, 0, stream_.get()>>>(from, to, count);
  RINGBENCH_CHECK_CUDA(cudaGetLastError());
}

void DeviceRowCopier::zero(void* to, std::size_t bytes) {
  RINGBENCH_CHECK_CUDA(cudaMemsetAsync(to, 0, bytes, stream_.get()));
}

std::shared_ptr<std::byte> DeviceRowCopier::allocate(std::size_t bytes) {
  auto buffer = std::make_shared<DeviceBuffer>(bytes);
  // the pointer keeps its buffer alive
  return std::shared_ptr<std::byte>(buffer, buffer->get<std::byte>());
}

void DeviceRowCopier::finish() {
  done_.record(stream_.get());
  wait_with_deadline(done_.get(), timeout_s_);
}

}  // namespace ringbench
