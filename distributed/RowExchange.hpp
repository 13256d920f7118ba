// An exchange that moves only some rows of the K/V blocks (a dilated ring's far steps): the
// block in hand sends the rows its later holders read, and the arriving block fills the rows the
// predecessor sends, each at its place. A block is `planes` planes (K then V, each batch x kv
// heads) of `tokens` rows of `row_bytes`; the same rows of every plane travel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/RowSelection.hpp"

namespace ringbench {

struct RowExchange {
  std::int64_t planes = 0, tokens = 0;
  std::size_t row_bytes = 0;
  std::vector<RowSelection> send, recv;

  std::size_t send_bytes() const { return bytes_of(send); }
  std::size_t recv_bytes() const { return bytes_of(recv); }
  std::size_t bytes_of(const std::vector<RowSelection>& rows) const {
    return static_cast<std::size_t>(planes * row_count(rows)) * row_bytes;
  }
};

// On the host: the rows of `block` packed one after another (plane by plane, selection by
// selection), and back; or copied from one block to another at their places.
void pack_rows(const void* block, const RowExchange& x, const std::vector<RowSelection>& rows,
               void* packed);
void unpack_rows(const void* packed, const RowExchange& x, const std::vector<RowSelection>& rows,
                 void* block);
void copy_rows(const void* from, const RowExchange& x, const std::vector<RowSelection>& rows,
               void* to);

}  // namespace ringbench
