// Where and with what a run was made, stored as string attributes of the run.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/RunRecord.hpp"
#include "distributed/MpiRuntime.hpp"

namespace ringbench {

std::string utc_now_iso8601();

std::map<std::string, std::string> collect_provenance(const MpiRuntime& rt,
                                                      const std::vector<RankInfo>& ranks);

}  // namespace ringbench
