// Files of the daemon's spool: written atomically (a reader, or a crash, sees the old content or
// the new, never a mix), and read as untrusted input (other users may put anything in pending/).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ringbench {

// Writes `text` to a temporary file beside `path`, flushes it to disk, and renames it over `path`.
// Throws std::runtime_error naming the file.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

// The temporary file write_file_atomically writes beside its target: ".<target>.tmp.<pid>", a
// dot-file (ignored by spool listings) in the target's folder (so the rename is atomic). A writer
// killed before its rename leaves it behind; this is how such a leftover is recognised.
struct TemporaryName {
  std::string target;  // the file it was to become, in the same folder
  long pid = 0;        // the writer's process (on whichever host it ran)
};
std::string temporary_name(const std::string& target, long pid);
std::optional<TemporaryName> parse_temporary_name(std::string_view name);

// Reads a file that someone else may have placed: only a regular file with one link, not through
// a symbolic link, not blocking on a FIFO, at most `limit` bytes. Throws ConfigError (key "job")
// saying what is wrong with it.
std::string read_untrusted_file(const std::filesystem::path& path, std::size_t limit);

// Flushes a folder's entries (after a rename into or out of it).
void sync_folder(const std::filesystem::path& dir);

}  // namespace ringbench
