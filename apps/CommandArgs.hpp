// A command's own options taken out of its arguments before the rest is read as case options
// (`calibrate --block-sizes 1K 4K --heads 8`): "--name v1 v2", "--name v1,v2" or "--name=v".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/Commands.hpp"

namespace ringbench {

// The values given to --name (with `split`, items split at commas and spaces), removed from
// `args`; nullopt when the option is not there. Given twice: the values of both, in order.
std::optional<std::vector<std::string>> take_option(Args& args, const std::string& name,
                                                    bool split = true);

// The single value of --name as given (a path may hold commas), or `fallback`; ConfigError(name,
// ...) when it has several.
std::string take_single(Args& args, const std::string& name, const std::string& fallback);

}  // namespace ringbench
