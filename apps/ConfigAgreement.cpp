#include "apps/ConfigAgreement.hpp"

#include "core/Error.hpp"
#include "distributed/Collectives.hpp"

namespace ringbench {

void require_same_config_everywhere(const MpiRuntime& rt, const CaseOptions& options) {
  std::string mine = "output = " + options.output + "\n";
  for (std::size_t i = 0; i < options.cases.size(); ++i)
    mine += "[case]\nranks = " + std::to_string(options.placements.at(i).ranks) + "\n" +
            options.cases[i].canonical();
  std::string root = mine;
  broadcast(rt.world(), root);
  if (!all_true(rt.world(), root == mine))
    throw ConfigError("config", "(differs between ranks)",
                      "the same options and config files on every rank");
}

std::optional<ConfigError> first_config_error(const MpiRuntime& rt,
                                              const std::optional<ConfigError>& mine) {
  const std::string text =
      mine ? mine->key() + '\0' + mine->value() + '\0' + mine->allowed() : std::string();
  const std::string first = first_error(rt.world(), text);
  if (first.empty()) return std::nullopt;
  const std::size_t a = first.find('\0'), b = first.find('\0', a + 1);
  return ConfigError(first.substr(0, a), first.substr(a + 1, b - a - 1), first.substr(b + 1));
}

}  // namespace ringbench
