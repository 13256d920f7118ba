// The project's two kinds of failure, and the one idiom for checking library calls.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ringbench {

// Invalid user input (option, config value, job file). Names the key, the value and what is
// allowed; the command-line front end turns it into exit code 2 on every rank.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, std::string value, std::string allowed);
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  const std::string& allowed() const { return allowed_; }

 private:
  std::string key_, value_, allowed_;
};

// A library (MPI, HDF5, CUDA, NCCL) reported an error. The message carries the library's own
// text plus the call and where it was made.
class LibraryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_library_error(std::string_view library, std::string_view call,
                                      std::string_view message, const char* file, int line);

}  // namespace ringbench

// Each library gets a RINGBENCH_CHECK_<LIB>(call) macro built on throw_library_error; they differ
// only in how success is recognised and how the library's own message is obtained.
