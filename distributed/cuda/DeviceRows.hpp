// Rows of device K/V blocks moved by one kernel each: packed one after another for a link that
// moves bytes (NCCL), put back at their places on arrival, or copied block to block at their places
// (virtual ranks on one GPU). The host's twins are in distributed/RowExchange.hpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <span>

#include "core/RowSelection.hpp"
#include "distributed/RowExchange.hpp"

namespace ringbench {

enum class RowMove { pack, unpack, copy };

// Moves `rows` of a block of x's shape: pack (block -> packed), unpack (packed -> block) or copy
// (block -> block, at their places), queued on `stream`.
void move_device_rows(RowMove move, const void* from, const RowExchange& x,
                      std::span<const RowSelection> rows, void* to, cudaStream_t stream);

}  // namespace ringbench
