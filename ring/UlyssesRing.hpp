// DeepSpeed-Ulysses, and USP's hybrid of it with the ring (hybrid:UxR). The ranks form
// groups of U consecutive ranks (plain Ulysses: one group of every rank). An all-to-all inside each
// group turns the rank's sequence shards of Q, K and V into head shards: heads / U heads over the
// group's tokens. The ranks at the same place of every group then form a ring of R members across
// the groups, which runs the ring algorithm itself (ring_attention_forward, on a backend of the
// rank's heads, CPU or GPU); with one group that ring has one member, whose block is every token. A
// second all-to-all brings O and LSE back to the sequence shards, where the check and the results
// read them as after a ring. The backward reverses it: an all-to-all of dO to the head shards (Q,
// K, V, O and LSE are still there from the forward), the ring's backward (ring_attention_backward),
// an all-to-all of dQ, dK, dV back (a kv head replicated to several ranks gets the sum of their
// shares). Real CPU ranks exchange over communicators made once per case (the group's, the
// ring's), every wait bounded by the peer timeout; the virtual ranks of one process (CPU, or one
// GPU) copy, through a RowCopier in their memory.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/BenchmarkCase.hpp"
#include "distributed/MpiRuntime.hpp"
#include "distributed/SubCommunicator.hpp"
#include "ring/BackendFactory.hpp"
#include "ring/RingSchedule.hpp"
#include "ring/RowCopier.hpp"
#include "ring/StepTimer.hpp"
#include "ring/UlyssesShape.hpp"
#include "ring/cpu/CpuBackend.hpp"

namespace ringbench {

class UlyssesRing {
 public:
  // `locals`: this process's ranks (one, or every virtual rank), their inputs generated.
  UlyssesRing(const BenchmarkCase& c, const SequenceLayout& layout, const MpiRuntime& rt,
              std::span<LocalRank> locals);
  // One forward pass of every local rank. Steps 0..R-1 are the ring's across the groups, the
  // all-to-all in counted at step 0, the all-to-all out at step R (step 1 of plain Ulysses).
  std::vector<IterationTiming> forward();
  // One backward pass of every local rank, after a forward (whose head shards it reads), timed
  // the same way. Leaves dQ and dK, dV (dkv_home) in each backend's buffers, as the ring's does.
  std::vector<IterationTiming> backward();

 private:
  struct Member {
    LocalRank* local;                       // the rank's sequence shard
    int group, index;                       // its group, and its place in it (and its ring)
    std::shared_ptr<std::byte> send, recv;  // [group peer][chunk], in the ranks' memory
    std::unique_ptr<RankBackend> heads;     // its heads over its group's tokens
    RingSchedule schedule;                  // member `group` of the ring across the groups
  };
  // What a pass does, in order: every member packs its chunks for its group peers, the groups
  // exchange them, every member unpacks; the rings across the groups compute; then pack, exchange
  // and unpack the results.
  struct Phases {
    void (UlyssesRing::*pack_in)(Member&) const;
    std::size_t in_chunk;
    void (UlyssesRing::*unpack_in)(Member&) const;
    std::vector<IterationTiming> (UlyssesRing::*compute)();
    void (UlyssesRing::*pack_out)(Member&) const;
    std::size_t out_chunk;
    void (UlyssesRing::*unpack_out)(Member&) const;
  };
  std::vector<IterationTiming> run(const Phases& phases);

  std::vector<std::unique_ptr<RankBackend>> make_head_backends(const BenchmarkCase& c);
  void pack_in(Member& m) const;
  void unpack_in(Member& m) const;
  std::vector<IterationTiming> attend();
  void pack_out(Member& m) const;
  void unpack_out(Member& m) const;
  void pack_grad_in(Member& m) const;
  void unpack_grad_in(Member& m) const;
  std::vector<IterationTiming> attend_backward();
  void pack_grad_out(Member& m) const;
  void unpack_grad_out(Member& m) const;
  // The exchange of every member's [peer][chunk] (bytes) inside its group; the ms each member's
  // part took.
  std::vector<double> exchange(std::size_t chunk);
  // Bytes of the chunks one rank sends each group peer (UlyssesShape's values, inputs in their
  // type, results and gradients in fp32).
  std::size_t in_chunk_bytes() const { return value_bytes(shape_.in_chunk(), input_bytes_); }
  std::size_t out_chunk_bytes() const { return value_bytes(shape_.out_chunk(), sizeof(float)); }
  std::size_t grad_in_chunk_bytes() const {
    return value_bytes(shape_.grad_in_chunk(), input_bytes_);
  }
  std::size_t grad_out_chunk_bytes() const {
    return value_bytes(shape_.grad_out_chunk(), sizeof(float));
  }
  static std::size_t value_bytes(std::int64_t values, std::size_t each) {
    return static_cast<std::size_t>(values) * each;
  }
  int rank_of(int group, int index) const { return group * static_cast<int>(shape_.ranks) + index; }

  const MpiRuntime& rt_;
  const SequenceLayout& layout_;
  UlyssesShape shape_;
  SequenceLayout group_layout_;  // the ring across the groups: member g holds group g's tokens
  std::optional<SubCommunicator> group_comm_, ring_comm_;  // real ranks: its group, its ring
  std::unique_ptr<RowCopier> copy_;                        // in the memory the ranks compute in
  std::vector<Member> members_;
  bool in_process_;          // every rank of the ring is here (virtual ranks, or one rank)
  std::size_t input_bytes_;  // of a value of Q, K, V, dO where the ranks hold them
};

}  // namespace ringbench
