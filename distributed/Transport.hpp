// Moves one K/V block one hop around the ring: send what this rank holds to the next rank,
// receive the previous rank's block. The ring algorithm is written against this interface only;
// MpiTransport (host memory) and NcclTransport (device memory) implement it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "distributed/RowExchange.hpp"

namespace ringbench {

class Transport {
 public:
  virtual ~Transport() = default;
  // Starts sending `bytes` from `send` to rank+1 and receiving as many from rank-1 into `recv`.
  // The transfer proceeds while the caller computes on other buffers.
  virtual void start_exchange(const void* send, void* recv, std::size_t bytes) = 0;
  // The same moving only some rows of the two blocks (RowExchange): the forward ring's exchanges
  // of a dilated pattern. Transports of the backward's (K, V, dK, dV) blocks move whole blocks
  // only and keep this default, which throws std::logic_error.
  virtual void start_exchange_rows(const void* send, void* recv, const RowExchange& rows);
  // Returns once the next computation may read `recv` (and `send` may be reused).
  virtual void wait_exchange() = 0;
  // Duration in ms of each exchange since the last call, in order; call after the iteration's
  // work has completed.
  virtual std::vector<double> take_comm_ms() = 0;
};

inline void Transport::start_exchange_rows(const void*, void*, const RowExchange&) {
  throw std::logic_error("this transport moves whole blocks only");
}

}  // namespace ringbench
