#include "core/Error.hpp"

#include <filesystem>

namespace ringbench {

ConfigError::ConfigError(std::string key, std::string value, std::string allowed)
    : std::runtime_error("invalid value for '" + key + "': '" + value + "' (allowed: " + allowed +
                         ")"),
      key_(std::move(key)),
      value_(std::move(value)),
      allowed_(std::move(allowed)) {}

void throw_library_error(std::string_view library, std::string_view call, std::string_view message,
                         const char* file, int line) {
  const std::string where =
      std::filesystem::path(file).filename().string() + ":" + std::to_string(line);
  throw LibraryError(std::string(library) + " error at " + where + " in " + std::string(call) +
                     ": " + std::string(message));
}

}  // namespace ringbench
