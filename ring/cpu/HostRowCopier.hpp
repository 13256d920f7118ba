// RowCopier for CPU ranks: plain copies in host memory, done when they return.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>

#include "ring/RowCopier.hpp"

namespace ringbench {

class HostRowCopier final : public RowCopier {
 public:
  void copy_rows(const void* from, std::size_t from_pitch, void* to, std::size_t to_pitch,
                 std::size_t rows, std::size_t row_bytes) override {
    const auto* in = static_cast<const std::byte*>(from);
    auto* out = static_cast<std::byte*>(to);
    for (std::size_t r = 0; r < rows; ++r)
      std::memcpy(out + r * to_pitch, in + r * from_pitch, row_bytes);
  }
  void add(const float* from, float* to, std::size_t count) override {
    std::transform(from, from + count, to, to, std::plus<>());
  }
  void zero(void* to, std::size_t bytes) override { std::memset(to, 0, bytes); }
  std::shared_ptr<std::byte> allocate(std::size_t bytes) override {
    return std::shared_ptr<std::byte>(new std::byte[bytes](), std::default_delete<std::byte[]>());
  }
  void finish() override {}
};

}  // namespace ringbench
