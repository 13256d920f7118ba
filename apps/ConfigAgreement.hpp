// Every rank takes part in every agreement, whatever its own parse gave: a rank that refuses its
// options (or runs another command) must not leave the others waiting in a collective it never
// joins. So the command, each command's parse and the resulting cases are agreed in collectives
// every rank reaches, and a refusal found on any rank ends every rank together, with one message
// and exit code 2.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "apps/CaseOptions.hpp"
#include "core/Error.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

// Throws ConfigError("command", ...) on every rank when the ranks were started with different
// commands (or some with --help): names the two commands and the ranks.
void require_same_command_everywhere(const MpiRuntime& rt, const std::string& command);

// Throws ConfigError on every rank when any rank's cases differ from rank 0's, naming the first
// key that differs and both values.
void require_same_config_everywhere(const MpiRuntime& rt, const CaseOptions& options);

// The first rank's ConfigError (in rank order), the same on every rank; none when no rank has
// one. Lets a refusal found on some ranks (a job's options, the daemon's spool) be acted on by
// all of them together.
std::optional<ConfigError> first_config_error(const MpiRuntime& rt,
                                              const std::optional<ConfigError>& mine);

// Runs `parse` on this rank, then agrees with every other rank: when any rank's parse refused its
// input, every rank throws the first refusal (in rank order). Returns this rank's result.
template <typename Parse>
auto parse_on_every_rank(const MpiRuntime& rt, Parse&& parse) -> decltype(parse()) {
  std::optional<decltype(parse())> parsed;
  std::optional<ConfigError> refusal;
  try {
    parsed.emplace(parse());
  } catch (const ConfigError& e) {
    refusal = e;
  }
  if (auto first = first_config_error(rt, refusal)) throw *first;
  return std::move(*parsed);
}

// The first line where two canonical texts ("key = value" lines) differ, as a refusal naming the
// key and both values ("64 on rank 0, 128 on rank 1"); none when they are equal.
std::optional<ConfigError> config_difference(const std::string& root_text,
                                             const std::string& rank_text, int rank);

}  // namespace ringbench
