// One benchmark case: the problem, how it is sharded, where it runs and how it is measured. Its
// canonical text (key = value lines, the config-file format) is what rank 0 broadcasts, what all
// ranks compare, and what the results file stores.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ProblemSpec.hpp"
#include "core/SequenceLayout.hpp"

namespace ringbench {

enum class DeviceKind { cpu, cuda };
std::string_view to_string(DeviceKind d);

// The block kernel inside the ring: cpu (host, fp32), flash (own CUDA kernel, tensor cores),
// cudnn (cuDNN fused attention), reference (simple fp32 CUDA kernel, for checking), or
// automatic: the fastest GPU kernel for the shape, measured when the run starts.
enum class KernelKind { cpu, flash, cudnn, reference, automatic };
std::string_view to_string(KernelKind k);
KernelKind parse_kernel(std::string_view text, DeviceKind device);  // "auto": cpu on the CPU

// What each timed iteration runs: the forward pass, the backward pass (given the forward's O and
// LSE, computed once before timing), or both one after the other.
enum class PassKind { fwd, bwd, fwdbwd };
std::string_view to_string(PassKind p);
PassKind parse_pass(std::string_view text);  // throws ConfigError (key "pass")
inline bool has_forward(PassKind p) {
  return p != PassKind::bwd;
}
inline bool has_backward(PassKind p) {
  return p != PassKind::fwd;
}

// How the sequence is split over the ranks' work (context parallelism): the ring (K/V blocks
// passed on while computing), an all-gather of every K/V block first (Llama 3), the same gather
// with each block's attention as soon as it has landed (pipelined), DeepSpeed-Ulysses (all-to-all
// from sequence shards to head shards, full-sequence attention of heads / P heads), or USP's
// hybrid (Ulysses within groups of U consecutive ranks, the ring across the R groups), or
// LoongTrain's double ring (inner rings of I consecutive ranks nested in an outer ring).
enum class SchemeKind { ring, allgather, allgather_pipelined, ulysses, hybrid, doublering };
std::string_view to_string(SchemeKind s);
// The schemes that shard heads with an all-to-all (ring/UlyssesRing runs both).
inline bool shards_heads(SchemeKind s) {
  return s == SchemeKind::ulysses || s == SchemeKind::hybrid;
}
// The schemes that pass every K/V block round the whole ring and keep it.
inline bool gathers_blocks(SchemeKind s) {
  return s == SchemeKind::allgather || s == SchemeKind::allgather_pipelined;
}
// A --scheme value: the scheme, for hybrid:UxR its group size U and group count R, for
// doublering:I its inner ring size I (the group count follows from the ranks).
struct SchemeChoice {
  SchemeKind kind = SchemeKind::ring;
  int group_ranks = 0, groups = 0;  // hybrid: U and R; doublering: I and 0
};
SchemeChoice parse_scheme(std::string_view text);  // throws ConfigError (key "scheme")

struct BenchmarkCase {
  ProblemSpec spec;
  LayoutKind layout = LayoutKind::contiguous;
  DeviceKind device = DeviceKind::cpu;
  KernelKind kernel = KernelKind::cpu;
  PassKind pass = PassKind::fwd;
  SchemeKind scheme = SchemeKind::ring;
  int scheme_group_ranks = 0, scheme_groups = 0;  // hybrid:UxR: U ranks per group, R groups;
                                                  // doublering:I: I ranks per inner ring
  int virtual_ranks = 0;         // > 1: run the schedule of a P-way ring inside one process
  int ring_size_option = 0;      // > ranks: an emulated ring of this many members (0: the ranks)
  std::string members = "auto";  // the emulated members played: auto, all, or a list "0,5,9"
  int sample_steps = 0;          // > 0: only this many evenly spaced steps of an emulated ring
  int gpu = -1;                  // >= 0: use this GPU ordinal instead of the node-local rank
  double timeout_s = 600.0;      // longest wait for one rank's GPU work before aborting
  int warmup = 1;
  int iters = 5;
  bool check = false;
  std::int64_t check_rows = 0;  // > 0: the check compares this many sampled query rows only
  double tolerance = 0.0;       // 0: the default for the dtype
  std::uint64_t seed = 42;
  bool dump_tensors = false;

  double effective_tolerance() const;
  // Members of the ring: the MPI world, the virtual ranks of one process, or --ring-size.
  int ring_size(int world_size) const {
    return virtual_ranks > 1 ? virtual_ranks : ring_size_option > 0 ? ring_size_option : world_size;
  }
  // A ring larger than the ranks that run it: each rank plays some of its members in turn.
  bool emulated(int world_size) const {
    return ring_size(world_size) > world_size && virtual_ranks <= 1;
  }
  void set_scheme(const SchemeChoice& s) {
    scheme = s.kind, scheme_group_ranks = s.group_ranks, scheme_groups = s.groups;
  }
  std::string scheme_text() const;  // "ring", ..., "hybrid:2x4"
  // Ranks of one all-to-all group of a head-sharding scheme: every rank for ulysses, U for hybrid.
  int head_group_ranks(int world_size) const {
    return scheme == SchemeKind::hybrid ? scheme_group_ranks : ring_size(world_size);
  }
  std::vector<std::pair<std::string, std::string>> entries() const;  // canonical key/value pairs
  std::string canonical() const;                                     // "key = value\n" lines
};

// --members of an emulated ring: auto (the members with the least and the most work, or one
// where all do the same), all, or listed indices ("0,5,9": each below the ring size).
struct MemberChoice {
  enum class Kind { automatic, all, listed } kind = Kind::automatic;
  std::vector<int> listed;  // ascending, without repeats
};
MemberChoice parse_members(const std::string& text, int ring_size);  // ConfigError "members"
std::string to_string(const MemberChoice& m);                        // canonical text

// --dump-tensors stores whole global tensors; keep results files reasonable.
inline constexpr std::int64_t kMaxDumpedValues = std::int64_t{1} << 26;

// Default check tolerance on the relative Frobenius error of O, by input precision.
double default_tolerance(DType t);

// Checks the case against the world it will run on (layout divisibility, iteration counts).
// Throws ConfigError naming the option key.
void validate(const BenchmarkCase& c, int world_size);

}  // namespace ringbench
