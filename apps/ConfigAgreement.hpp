// Ranks started with different options or config files (or whose `device = auto` resolves
// differently) must fail together before any benchmark work: rank 0's canonical cases are
// broadcast and every rank compares them with its own.
#pragma once

#include <optional>

#include "apps/CaseOptions.hpp"
#include "core/Error.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

// Throws ConfigError (key "config") on every rank when any rank's cases differ from rank 0's.
void require_same_config_everywhere(const MpiRuntime& rt, const CaseOptions& options);

// The first rank's ConfigError (in rank order), the same on every rank; none when no rank has
// one. Lets a refusal found on some ranks (a job's options, the daemon's spool) be acted on by
// all of them together.
std::optional<ConfigError> first_config_error(const MpiRuntime& rt,
                                              const std::optional<ConfigError>& mine);

}  // namespace ringbench
