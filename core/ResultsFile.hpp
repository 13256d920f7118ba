// The HDF5 results file: runs are appended whole or not at all (the file is rewritten into a
// temporary copy and renamed over the original), so a crash or kill never leaves a corrupt file
// or a half-written run. Layout documented in the README ("HDF5 results").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/RunRecord.hpp"

namespace ringbench {

// 2: the backward pass (config key pass, timing/forward and timing/backward, fwd_*/bwd_* summary
// keys, gradient errors in check). Version-1 files are read as forward-only runs (pass = fwd).
// 3: attention patterns (mask holds a pattern spec, summary density, tensors/block_map).
inline constexpr int kSchemaVersion = 4;  // 4: the scheme key

// Throws ConfigError (key "output") when `file` cannot take results: its folder is missing, or it
// exists and is not a ringbench results file.
void check_results_file_usable(const std::filesystem::path& file);

// Appends the run and returns its id (the group name under /runs). Holding `<file>.lock`, it first
// removes the copies `<file>.tmp.<pid>` earlier appends left when killed (saying so on stderr).
std::string append_run(const std::filesystem::path& file, const RunRecord& run);

std::vector<std::string> list_runs(const std::filesystem::path& file);
RunRecord read_run(const std::filesystem::path& file, const std::string& id);

}  // namespace ringbench
