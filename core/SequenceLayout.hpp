// How the global sequence is sharded over ranks. Every layout is a bijection between global token
// indices and (rank, local index); local indices of one rank are in increasing global order, and a
// rank's tokens form a few runs of evenly spaced positions, which is all a mask needs to know.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace ringbench {

enum class LayoutKind { contiguous, zigzag, striped };

std::string_view to_string(LayoutKind k);
LayoutKind parse_layout(std::string_view text);  // throws ConfigError (key "layout")

// `length` tokens at global positions global_start, global_start + stride, ...; their local
// indices are consecutive from local_start.
struct PositionRun {
  std::int64_t local_start = 0;
  std::int64_t global_start = 0;
  std::int64_t length = 0;
  std::int64_t stride = 1;

  bool operator==(const PositionRun&) const = default;
  std::int64_t first() const { return global_start; }
  std::int64_t last() const { return global_start + (length - 1) * stride; }
};

// The global positions of the tokens of `runs`, in local order.
std::vector<std::int64_t> expand_positions(std::span<const PositionRun> runs);

class SequenceLayout {
 public:
  // Throws ConfigError (key "seq-len") when seq_len is not a multiple of required_multiple().
  SequenceLayout(LayoutKind kind, std::int64_t seq_len, int ranks);

  // The sequence length must be a multiple of this for the layout to give equal shards.
  static std::int64_t required_multiple(LayoutKind kind, int ranks);

  LayoutKind kind() const { return kind_; }
  int ranks() const { return ranks_; }
  std::int64_t seq_len() const { return seq_len_; }
  std::int64_t local_len() const { return seq_len_ / ranks_; }

  const std::vector<PositionRun>& runs(int rank) const { return runs_.at(rank); }
  std::int64_t global_index(int rank, std::int64_t local) const;
  std::pair<int, std::int64_t> locate(std::int64_t global) const;  // -> (rank, local)
  std::vector<std::int64_t> positions(int rank) const;

 private:
  LayoutKind kind_;
  std::int64_t seq_len_;
  int ranks_;
  std::vector<std::vector<PositionRun>> runs_;
};

}  // namespace ringbench
