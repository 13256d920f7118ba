#include "apps/spool/JobFile.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "core/Error.hpp"

namespace ringbench {

namespace {

constexpr std::string_view kJobKeys[] = {
    "seq-len",  "heads",         "kv-heads",  "head-dim",      "batch",       "tokens-per-step",
    "dtype",    "mask",          "layout",    "softmax-scale", "device",      "kernel",
    "pass",     "virtual-ranks", "gpu",       "timeout",       "warmup",      "iters",
    "check",    "tolerance",     "seed",      "preset",        "ranks",       "scaling",
    "priority", "check-rows",    "ring-size", "members",       "sample-steps"};

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

bool allowed_key(std::string_view key) {
  return std::find(std::begin(kJobKeys), std::end(kJobKeys), key) != std::end(kJobKeys);
}

// Printable ASCII, tabs and line ends only: nothing that could smuggle control sequences into
// the logs, failed/ files or terminals that show them.
void check_characters(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch == '\n' || ch == '\t' || ch == '\r' || (ch >= 0x20 && ch < 0x7f)) continue;
    throw ConfigError("job", "(byte " + std::to_string(i) + ")", "printable ASCII text");
  }
}

int parse_priority(std::string_view value) {
  int p = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), p);
  if (ec != std::errc() || ptr != value.data() + value.size() || p < -kMaxJobPriority ||
      p > kMaxJobPriority)
    throw ConfigError("priority", std::string(value),
                      "an integer from " + std::to_string(-kMaxJobPriority) + " to " +
                          std::to_string(kMaxJobPriority));
  return p;
}

// ASCII only, whatever the locale (isalnum may accept letters of a single-byte locale).
bool ascii_alnum(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

}  // namespace

std::string job_keys_text() {
  std::string text;
  for (auto k : kJobKeys) text += (text.empty() ? "" : ", ") + std::string(k);
  return text;
}

bool job_name_character(char ch) {
  return ascii_alnum(ch) || ch == '.' || ch == '_' || ch == '-';
}

bool valid_job_name(std::string_view name) {
  if (name.size() < 5 || name.size() > 128 || !name.ends_with(".ini")) return false;
  if (!ascii_alnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(), job_name_character);
}

ScreenedJob screen_job(std::string_view text) {
  if (text.size() > kMaxJobBytes)
    throw ConfigError("job", "(" + std::to_string(text.size()) + " bytes)",
                      "at most " + std::to_string(kMaxJobBytes) + " bytes");
  check_characters(text);
  ScreenedJob job;
  std::map<std::string, std::pair<std::string, int>, std::less<>> seen;  // key -> value, line
  std::size_t start = 0;
  int number = 0;
  while (start < text.size()) {
    ++number;
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    if (raw.size() > kMaxJobLineBytes)
      throw ConfigError("job", "(a line of " + std::to_string(raw.size()) + " bytes)",
                        "lines of at most " + std::to_string(kMaxJobLineBytes) + " bytes");
    const std::string_view line = trim(raw.substr(0, raw.find('#')));  // as Boost reads INI files
    if (line.empty()) {
      job.options += std::string(raw) + "\n";
      continue;
    }
    if (line.front() == '[')
      throw ConfigError("job", std::string(line), "key = value lines without [sections]");
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      throw ConfigError("job", std::string(line), "key = value lines");
    const std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (!allowed_key(key))
      throw ConfigError(std::string(key), std::string(value), "a job key: " + job_keys_text());
    // Boost would make a list of a repeated key: refused, naming both (lists are one value)
    const auto [first, fresh] =
        seen.emplace(std::string(key), std::pair{std::string(value), number});
    if (!fresh)
      throw ConfigError(std::string(key),
                        first->second.first + " (line " + std::to_string(first->second.second) +
                            ") and " + std::string(value) + " (line " + std::to_string(number) +
                            ")",
                        "one occurrence; lists are written as one value: " + std::string(key) +
                            " = " + first->second.first + " " + std::string(value));
    if (key == "priority") {
      job.priority = parse_priority(value);
      job.options += "# priority (used by the spool)\n";  // keeps line numbers of the rest
      continue;
    }
    job.options += std::string(key) + " = " + std::string(value) + "\n";
  }
  return job;
}

}  // namespace ringbench
