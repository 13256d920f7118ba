#include <algorithm>

#include "distributed/cuda/CudaCheck.hpp"
#include "distributed/cuda/DeviceRows.hpp"
#include "distributed/cuda/SelectionTable.cuh"

namespace ringbench {

namespace {

// One thread per unit (16 or 4 bytes) of every row moved. `before`: rows of the selections
// before this table's (a move of more than kMaxSelections selections is cut into launches);
// `rows_per_plane`: the packed rows of one plane, over all selections.
template <typename Unit>
__global__ void move_rows_kernel(RowMove move, const Unit* from, Unit* to, SelectionTable table,
                                 std::int64_t planes, std::int64_t tokens, std::int64_t row_units,
                                 std::int64_t before, std::int64_t rows_per_plane) {
  const std::int64_t rows = table.total();
  const std::int64_t total = planes * rows * row_units;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t unit = i % row_units, k = (i / row_units) % rows,
                       plane = i / (row_units * rows);
    const std::int64_t in_block = (plane * tokens + table.row(k)) * row_units + unit;
    const std::int64_t in_packed = (plane * rows_per_plane + before + k) * row_units + unit;
    const std::int64_t src = move == RowMove::unpack ? in_packed : in_block;
    const std::int64_t dst = move == RowMove::pack ? in_packed : in_block;
    to[dst] = from[src];
  }
}

template <typename Unit>
void launch(RowMove move, const void* from, const RowExchange& x,
            std::span<const RowSelection> rows, void* to, cudaStream_t stream) {
  const auto row_units = static_cast<std::int64_t>(x.row_bytes / sizeof(Unit));
  const std::int64_t rows_per_plane = row_count(rows);
  std::int64_t before = 0;
  for (std::size_t first = 0; first < rows.size(); first += kMaxSelections) {
    SelectionTable table;
    for (std::size_t s = first; s < std::min(rows.size(), first + kMaxSelections); ++s)
      table.add(rows[s]);
    const std::int64_t units = x.planes * table.total() * row_units;
    if (units > 0) {
      const auto blocks =
          static_cast<unsigned>(std::min<std::int64_t>((units + 255) / 256, 65535 * 32));
      move_rows_kernel<Unit><<<blocks, 256, 0, stream>>>(
          move, static_cast<const Unit*>(from), static_cast<Unit*>(to), table, x.planes, x.tokens,
          row_units, before, rows_per_plane);
      RINGBENCH_CHECK_CUDA(cudaGetLastError());
    }
    before += table.total();
  }
}

}  // namespace

void move_device_rows(RowMove move, const void* from, const RowExchange& x,
                      std::span<const RowSelection> rows, void* to, cudaStream_t stream) {
  const bool wide = x.row_bytes % sizeof(uint4) == 0 &&
                    reinterpret_cast<std::uintptr_t>(from) % sizeof(uint4) == 0 &&
                    reinterpret_cast<std::uintptr_t>(to) % sizeof(uint4) == 0;
  if (wide)
    launch<uint4>(move, from, x, rows, to, stream);
  else
    launch<std::uint32_t>(move, from, x, rows, to, stream);
}

}  // namespace ringbench
