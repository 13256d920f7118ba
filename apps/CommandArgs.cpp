#include "apps/CommandArgs.hpp"

#include <sstream>

#include "core/Error.hpp"

namespace ringbench {

namespace {
void split_into(const std::string& text, bool split, std::vector<std::string>& out) {
  if (!split) {
    out.push_back(text);
    return;
  }
  std::string item = text;
  for (char& ch : item)
    if (ch == ',') ch = ' ';
  std::istringstream in(item);
  for (std::string value; in >> value;) out.push_back(value);
}
}  // namespace

std::optional<std::vector<std::string>> take_option(Args& args, const std::string& name,
                                                    bool split) {
  const std::string flag = "--" + name, with_value = flag + "=";
  std::optional<std::vector<std::string>> values;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i].rfind(with_value, 0) == 0) {
      if (!values) values.emplace();
      split_into(args[i].substr(with_value.size()), split, *values);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (args[i] != flag) {
      ++i;
      continue;
    }
    if (!values) values.emplace();
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    while (i < args.size() && args[i].rfind("--", 0) != 0) {
      split_into(args[i], split, *values);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return values;
}

std::string take_single(Args& args, const std::string& name, const std::string& fallback) {
  const auto values = take_option(args, name, false);
  if (!values) return fallback;
  if (values->size() != 1) {
    std::string given;
    for (const auto& v : *values) given += (given.empty() ? "" : " ") + v;
    throw ConfigError(name, given, "one value");
  }
  return values->front();
}

}  // namespace ringbench
