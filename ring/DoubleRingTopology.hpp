// The two rings of LoongTrain's double ring (ring/DoubleRing) over P ranks: inner rings of I
// consecutive ranks, and an outer ring through the ranks at the same place of every inner ring.
// Rank r is place i = r mod I of inner ring g = r / I. At step t = o·I + s (outer step o, inner
// step s) it holds the block of rank (g - o, i - s): each inner ring passes one outer step's
// blocks round, while the outer ring brings the next outer step's block from the same place of
// the previous inner ring. Who precedes whom on each ring, and which owner's block each exchange
// of an iteration delivers, are the virtual ranks' copies and relays and the real ranks'
// sub-communicators.
#pragma once

#include <vector>

namespace ringbench {

struct DoubleRingTopology {
  int ranks = 1, inner = 1;  // P, and I dividing it

  int outer() const { return ranks / inner; }
  int inner_ring(int r) const { return r / inner; }
  int place(int r) const { return r % inner; }
  int rank_at(int ring, int place) const {
    return ((ring % outer() + outer()) % outer()) * inner + (place % inner + inner) % inner;
  }
  // The owner of the block rank r holds at step t (0 <= t < P).
  int source(int r, int t) const {
    return rank_at(inner_ring(r) - t / inner, place(r) - t % inner);
  }
  int inner_predecessor(int r) const { return rank_at(inner_ring(r), place(r) - 1); }
  int inner_successor(int r) const { return rank_at(inner_ring(r), place(r) + 1); }
  int outer_predecessor(int r) const { return rank_at(inner_ring(r) - 1, place(r)); }
  int outer_successor(int r) const { return rank_at(inner_ring(r) + 1, place(r)); }

  // The owners of the blocks the forward's exchanges deliver, [rank][exchange of an iteration]:
  // on the inner ring the next step's block at inner steps 0 .. I-2 of every outer step, on the
  // outer ring the next outer step's first block at outer steps 0 .. O-2.
  std::vector<std::vector<int>> inner_sources() const {
    std::vector<std::vector<int>> owners(static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r)
      for (int t = 0; t + 1 < ranks; ++t)
        if ((t + 1) % inner != 0) owners[static_cast<std::size_t>(r)].push_back(source(r, t + 1));
    return owners;
  }
  std::vector<std::vector<int>> outer_sources() const {
    std::vector<std::vector<int>> owners(static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r)
      for (int o = 0; o + 1 < outer(); ++o)
        owners[static_cast<std::size_t>(r)].push_back(source(r, (o + 1) * inner));
    return owners;
  }
  // Exchanges of one backward iteration on the inner ring: per outer step I + 1 (the dK/dV
  // accumulators travel one hop behind their block, and a last hop brings them to the step's
  // first holder), none in inner rings of one.
  int inner_backward_exchanges() const { return inner > 1 ? outer() * (inner + 1) : 0; }
};

}  // namespace ringbench
