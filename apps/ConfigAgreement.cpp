#include "apps/ConfigAgreement.hpp"

#include <sstream>
#include <vector>

#include "core/Error.hpp"
#include "distributed/Collectives.hpp"

namespace ringbench {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string on_rank(const std::string& value, int rank) {
  return value + " on rank " + std::to_string(rank);
}

}  // namespace

void require_same_command_everywhere(const MpiRuntime& rt, const std::string& command) {
  std::string root = command;
  broadcast(rt.world(), root);
  std::optional<ConfigError> mine;
  if (root != command)
    mine = ConfigError("command", on_rank(root, 0) + ", " + on_rank(command, rt.rank()),
                       "the same command on every rank");
  if (auto first = first_config_error(rt, mine)) throw *first;
}

std::optional<ConfigError> config_difference(const std::string& root_text,
                                             const std::string& rank_text, int rank) {
  if (root_text == rank_text) return std::nullopt;
  const auto a = lines_of(root_text), b = lines_of(rank_text);
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const auto split = [](const std::string& line) {
    const auto eq = line.find(" = ");
    return eq == std::string::npos ? std::pair<std::string, std::string>{line, ""}
                                   : std::pair{line.substr(0, eq), line.substr(eq + 3)};
  };
  const auto [key_a, value_a] = i < a.size() ? split(a[i]) : std::pair<std::string, std::string>{};
  const auto [key_b, value_b] = i < b.size() ? split(b[i]) : std::pair<std::string, std::string>{};
  const std::string allowed =
      "the same options and config files on every rank (differs between ranks)";
  if (key_a == key_b && key_a != "[case]")
    return ConfigError(key_a, on_rank(value_a, 0) + ", " + on_rank(value_b, rank), allowed);
  // The lists expanded into different numbers of cases.
  const auto cases = [](const std::vector<std::string>& lines) {
    std::size_t n = 0;
    for (const auto& l : lines) n += l == "[case]" ? 1 : 0;
    return std::to_string(n) + " case(s)";
  };
  return ConfigError("cases", on_rank(cases(a), 0) + ", " + on_rank(cases(b), rank), allowed);
}

void require_same_config_everywhere(const MpiRuntime& rt, const CaseOptions& options) {
  std::string mine = "output = " + options.output + "\n";
  for (std::size_t i = 0; i < options.cases.size(); ++i)
    mine += "[case]\nranks = " + std::to_string(options.placements.at(i).ranks) + "\n" +
            options.cases[i].canonical();
  std::string root = mine;
  broadcast(rt.world(), root);
  if (auto first = first_config_error(rt, config_difference(root, mine, rt.rank()))) throw *first;
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
