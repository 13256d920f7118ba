#include "core/SequenceLayout.hpp"

#include <string>

#include "core/Error.hpp"

namespace ringbench {

std::string_view to_string(LayoutKind k) {
  switch (k) {
    case LayoutKind::contiguous:
      return "contiguous";
    case LayoutKind::zigzag:
      return "zigzag";
    case LayoutKind::striped:
      return "striped";
  }
  return "?";
}

LayoutKind parse_layout(std::string_view text) {
  if (text == "contiguous") return LayoutKind::contiguous;
  if (text == "zigzag") return LayoutKind::zigzag;
  if (text == "striped") return LayoutKind::striped;
  throw ConfigError("layout", std::string(text), "contiguous, zigzag, striped");
}

std::int64_t SequenceLayout::required_multiple(LayoutKind kind, int ranks) {
  // zigzag cuts the sequence into 2P equal chunks; striped deals tokens out one per rank in turn
  return kind == LayoutKind::zigzag ? 2 * std::int64_t{ranks} : ranks;
}

SequenceLayout::SequenceLayout(LayoutKind kind, std::int64_t seq_len, int ranks)
    : kind_(kind), seq_len_(seq_len), ranks_(ranks), runs_(ranks) {
  const auto multiple = required_multiple(kind, ranks);
  if (ranks <= 0 || seq_len <= 0 || seq_len % multiple != 0)
    throw ConfigError("seq-len", std::to_string(seq_len),
                      "a positive multiple of " + std::to_string(multiple) + " for layout " +
                          std::string(to_string(kind)) + " on " + std::to_string(ranks) + " ranks");
  const std::int64_t n = local_len();
  for (int r = 0; r < ranks; ++r) {
    if (kind == LayoutKind::contiguous) {
      runs_[r] = {{0, r * n, n, 1}};
    } else if (kind == LayoutKind::striped) {
      // token i on rank i mod P: every rank sees every part of the sequence, so causal work is
      // equal up to the diagonal (a rank's own keys at or before each query)
      runs_[r] = {{0, r, n, ranks}};
    } else {
      // rank r holds chunk r and chunk 2P-1-r: early and late tokens, equal causal work
      const std::int64_t chunk = n / 2;
      runs_[r] = {{0, r * chunk, chunk, 1},
                  {chunk, (2 * std::int64_t{ranks} - 1 - r) * chunk, chunk, 1}};
    }
  }
}

std::int64_t SequenceLayout::global_index(int rank, std::int64_t local) const {
  for (const auto& run : runs_.at(rank))
    if (local >= run.local_start && local < run.local_start + run.length)
      return run.global_start + (local - run.local_start) * run.stride;
  throw std::out_of_range("local index " + std::to_string(local) + " outside rank " +
                          std::to_string(rank));
}

std::pair<int, std::int64_t> SequenceLayout::locate(std::int64_t global) const {
  if (global < 0 || global >= seq_len_)
    throw std::out_of_range("global index " + std::to_string(global) + " outside the sequence");
  const std::int64_t n = local_len();
  if (kind_ == LayoutKind::contiguous) return {static_cast<int>(global / n), global % n};
  if (kind_ == LayoutKind::striped) return {static_cast<int>(global % ranks_), global / ranks_};
  const std::int64_t chunk = n / 2;
  const std::int64_t c = global / chunk;
  const std::int64_t offset = global % chunk;
  if (c < ranks_) return {static_cast<int>(c), offset};
  return {static_cast<int>(2 * ranks_ - 1 - c), chunk + offset};
}

std::vector<std::int64_t> expand_positions(std::span<const PositionRun> runs) {
  std::vector<std::int64_t> out;
  for (const auto& run : runs)
    for (std::int64_t i = 0; i < run.length; ++i) out.push_back(run.global_start + i * run.stride);
  return out;
}

std::vector<std::int64_t> SequenceLayout::positions(int rank) const {
  return expand_positions(runs_.at(rank));
}

}  // namespace ringbench
