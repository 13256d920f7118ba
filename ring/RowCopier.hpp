// Row moves of a scheme that reshards its tensors between the ranks' layouts (ring/UlyssesRing),
// in the memory the ranks compute in: host memory (cpu/HostRowCopier) or one GPU's
// (cuda/DeviceRowCopier, queued on a stream of its own). Every pointer is into that memory.
#pragma once

#include <cstddef>
#include <memory>

namespace ringbench {

class RowCopier {
 public:
  virtual ~RowCopier() = default;
  // `rows` rows of `row_bytes`: read one every `from_pitch` bytes from `from`, written one every
  // `to_pitch` bytes at `to`.
  virtual void copy_rows(const void* from, std::size_t from_pitch, void* to, std::size_t to_pitch,
                         std::size_t rows, std::size_t row_bytes) = 0;
  void copy(const void* from, void* to, std::size_t bytes) {
    copy_rows(from, bytes, to, bytes, 1, bytes);
  }
  virtual void add(const float* from, float* to, std::size_t count) = 0;  // to[i] += from[i]
  virtual void zero(void* to, std::size_t bytes) = 0;
  // `bytes` of the memory the copies run in, freed with the last copy of the pointer.
  virtual std::shared_ptr<std::byte> allocate(std::size_t bytes) = 0;
  // Returns once every move queued so far has completed.
  virtual void finish() = 0;
};

}  // namespace ringbench
