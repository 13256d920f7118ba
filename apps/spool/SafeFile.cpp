#include "apps/spool/SafeFile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "core/Error.hpp"
#include "core/FileDescriptor.hpp"

namespace ringbench {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

void sync_folder(const fs::path& dir) {
  FileDescriptor fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

std::string temporary_name(const std::string& target, long pid) {
  return "." + target + ".tmp." + std::to_string(pid);
}

std::optional<TemporaryName> parse_temporary_name(std::string_view name) {
  constexpr std::string_view kInfix = ".tmp.";
  const std::size_t infix = name.rfind(kInfix);
  if (name.size() < 2 || name.front() != '.' || infix == std::string_view::npos || infix < 2)
    return std::nullopt;
  const std::string_view digits = name.substr(infix + kInfix.size());
  const auto digit = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; };
  if (digits.empty() || digits.size() > 10 || !std::all_of(digits.begin(), digits.end(), digit))
    return std::nullopt;
  TemporaryName t;
  t.target = std::string(name.substr(1, infix - 1));
  std::from_chars(digits.data(), digits.data() + digits.size(), t.pid);
  return t;
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.parent_path() / temporary_name(path.filename().string(), ::getpid());
  {
    FileDescriptor fd(
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (fd.get() < 0) fail("cannot create", tmp);
    ::fchmod(fd.get(), 0644);  // the daemon reads what submitters write, whatever their umask
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::unlink(tmp.c_str());
        fail("cannot write", tmp);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) fail("cannot flush", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail("cannot rename into", path);
  }
  sync_folder(path.parent_path());
}

std::string read_untrusted_file(const fs::path& path, std::size_t limit) {
  const std::string name = path.filename().string();
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0)
    throw ConfigError("job", name,
                      std::string("a readable regular file (") + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw ConfigError("job", name, "a regular file");
  // A hard link could make the daemon read (and echo into failed/) a file only it may read.
  if (st.st_nlink != 1) throw ConfigError("job", name, "a file with a single link");
  if (static_cast<std::size_t>(st.st_size) > limit)
    throw ConfigError("job", name, "at most " + std::to_string(limit) + " bytes");
  std::string text(limit + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw ConfigError("job", name, std::string("a readable file (") + std::strerror(errno) + ")");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > limit) throw ConfigError("job", name, "at most " + std::to_string(limit) + " bytes");
  text.resize(got);
  return text;
}

}  // namespace ringbench
