#include "distributed/RowExchange.hpp"

#include <cstring>

namespace ringbench {

namespace {
// Calls f(offset in the block, offset in the packed rows) for every row that travels.
template <class F>
void for_each_row(const RowExchange& x, const std::vector<RowSelection>& rows, F&& f) {
  std::size_t packed = 0;
  for (std::int64_t plane = 0; plane < x.planes; ++plane)
    for (const RowSelection& r : rows)
      for (std::int64_t j = 0; j < r.count; ++j, packed += x.row_bytes)
        f(static_cast<std::size_t>(plane * x.tokens + r.first + j * r.stride) * x.row_bytes,
          packed);
}
}  // namespace

void pack_rows(const void* block, const RowExchange& x, const std::vector<RowSelection>& rows,
               void* packed) {
  const auto* in = static_cast<const char*>(block);
  auto* out = static_cast<char*>(packed);
  for_each_row(x, rows,
               [&](std::size_t b, std::size_t p) { std::memcpy(out + p, in + b, x.row_bytes); });
}

void unpack_rows(const void* packed, const RowExchange& x, const std::vector<RowSelection>& rows,
                 void* block) {
  const auto* in = static_cast<const char*>(packed);
  auto* out = static_cast<char*>(block);
  for_each_row(x, rows,
               [&](std::size_t b, std::size_t p) { std::memcpy(out + b, in + p, x.row_bytes); });
}

void copy_rows(const void* from, const RowExchange& x, const std::vector<RowSelection>& rows,
               void* to) {
  const auto* in = static_cast<const char*>(from);
  auto* out = static_cast<char*>(to);
  for_each_row(x, rows,
               [&](std::size_t b, std::size_t) { std::memcpy(out + b, in + b, x.row_bytes); });
}

}  // namespace ringbench
