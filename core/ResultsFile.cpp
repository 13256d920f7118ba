#include "core/ResultsFile.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "core/Error.hpp"
#include "core/Hdf5.hpp"
#include "core/Hdf5Io.hpp"
#include "core/Version.hpp"

namespace ringbench {

namespace fs = std::filesystem;

namespace {

// One row of the per-rank table, as HDF5 sees it in memory.
struct RankRow {
  int rank;
  const char* host;
  int local_rank;
  const char* device;
  const char* pci_bus_id;
};

H5Id rank_row_type() {
  H5Id str = string_type();
  H5Id t = h5_type(RINGBENCH_CHECK_HDF5(H5Tcreate(H5T_COMPOUND, sizeof(RankRow))));
  RINGBENCH_CHECK_HDF5(H5Tinsert(t, "rank", HOFFSET(RankRow, rank), H5T_NATIVE_INT));
  RINGBENCH_CHECK_HDF5(H5Tinsert(t, "host", HOFFSET(RankRow, host), str));
  RINGBENCH_CHECK_HDF5(H5Tinsert(t, "local_rank", HOFFSET(RankRow, local_rank), H5T_NATIVE_INT));
  RINGBENCH_CHECK_HDF5(H5Tinsert(t, "device", HOFFSET(RankRow, device), str));
  RINGBENCH_CHECK_HDF5(H5Tinsert(t, "pci_bus_id", HOFFSET(RankRow, pci_bus_id), str));
  return t;
}

void write_ranks(hid_t run, const std::vector<RankInfo>& ranks) {
  std::vector<RankRow> rows;
  for (const auto& r : ranks)
    rows.push_back({r.rank, r.host.c_str(), r.local_rank, r.device.c_str(), r.pci_bus_id.c_str()});
  const hsize_t n = rows.size();
  H5Id type = rank_row_type();
  H5Id space = h5_space(RINGBENCH_CHECK_HDF5(H5Screate_simple(1, &n, nullptr)));
  H5Id set = h5_dataset(RINGBENCH_CHECK_HDF5(
      H5Dcreate2(run, "ranks", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  if (n > 0) RINGBENCH_CHECK_HDF5(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()));
}

std::vector<RankInfo> read_ranks(hid_t run) {
  H5Id set = h5_dataset(RINGBENCH_CHECK_HDF5(H5Dopen2(run, "ranks", H5P_DEFAULT)));
  H5Id space = h5_space(RINGBENCH_CHECK_HDF5(H5Dget_space(set)));
  hsize_t n = 0;
  RINGBENCH_CHECK_HDF5(H5Sget_simple_extent_dims(space, &n, nullptr));
  std::vector<RankRow> rows(n);
  H5Id type = rank_row_type();
  std::vector<RankInfo> out;
  if (n == 0) return out;
  RINGBENCH_CHECK_HDF5(H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()));
  for (const auto& r : rows)
    out.push_back({r.rank, r.host ? r.host : "", r.local_rank, r.device ? r.device : "",
                   r.pci_bus_id ? r.pci_bus_id : ""});
  H5Dvlen_reclaim(type, space, H5P_DEFAULT, rows.data());
  return out;
}

std::string join_keys(const std::vector<std::pair<std::string, std::string>>& config) {
  std::string keys;
  for (const auto& [k, v] : config) keys += (keys.empty() ? "" : " ") + k;
  return keys;
}

// timing/forward and timing/backward: each timed pass on its own, [iterations, ranks, ring steps].
void write_passes(hid_t timing, const RunRecord& run) {
  const auto iters = static_cast<hsize_t>(run.iterations),
             ranks = static_cast<hsize_t>(run.world_size);
  // run.steps holds every pass's steps one after another
  const auto steps = static_cast<hsize_t>(run.steps / std::max<std::size_t>(1, run.passes.size()));
  for (const auto& [name, pass] : run.passes) {
    H5Id g = create_group(timing, name);
    write_dataset(g, "compute_ms", {iters, ranks, steps}, pass.compute_ms);
    write_dataset(g, "comm_ms", {iters, ranks, steps}, pass.comm_ms);
    write_dataset(g, "wait_ms", {iters, ranks, steps}, pass.wait_ms);
    write_dataset(g, "total_ms", {iters, ranks}, pass.total_ms);
    write_dataset(g, "wall_ms", {iters, ranks}, pass.wall_ms);
    write_attr(g, "flops", pass.flops);
  }
}

std::map<std::string, PassTiming> read_passes(hid_t timing) {
  std::map<std::string, PassTiming> passes;
  for (const char* name : {"forward", "backward"}) {
    if (!has_link(timing, name)) continue;
    H5Id g = open_group(timing, name);
    passes[name] = {read_dataset<double>(g, "compute_ms"), read_dataset<double>(g, "comm_ms"),
                    read_dataset<double>(g, "wait_ms"),    read_dataset<double>(g, "total_ms"),
                    read_dataset<double>(g, "wall_ms"),    read_attr<double>(g, "flops")};
  }
  return passes;
}

CheckResult read_check(hid_t check) {
  CheckResult c;
  c.rel_err = read_attr<double>(check, "rel_err");
  c.max_abs_err = read_attr<double>(check, "max_abs_err");
  c.lse_max_abs_err = read_attr<double>(check, "lse_max_abs_err");
  c.tolerance = read_attr<double>(check, "tolerance");
  c.passed = read_attr<std::int64_t>(check, "passed") != 0;
  if (H5Aexists(check, "rows") > 0) c.rows = read_attr<std::int64_t>(check, "rows");
  if (H5Aexists(check, "dq_rel_err") > 0)
    c.gradients = GradientErrors{read_attr<double>(check, "dq_rel_err"),
                                 read_attr<double>(check, "dk_rel_err"),
                                 read_attr<double>(check, "dv_rel_err")};
  return c;
}

void write_run(hid_t runs, const std::string& id, const RunRecord& run) {
  H5Id g = create_group(runs, id);
  for (const auto& [k, v] : run.config) write_attr(g, k, v);
  write_attr(g, "config_keys", join_keys(run.config));
  for (const auto& [k, v] : run.provenance) write_attr(g, k, v);
  write_attr(g, "world_size", std::int64_t{run.world_size});
  write_attr(g, "status", run.status);
  write_attr(g, "error", run.error);
  write_ranks(g, run.ranks);

  const auto iters = static_cast<hsize_t>(run.iterations),
             ranks = static_cast<hsize_t>(run.world_size), steps = static_cast<hsize_t>(run.steps);
  H5Id timing = create_group(g, "timing");
  write_dataset(timing, "compute_ms", {iters, ranks, steps}, run.compute_ms);
  write_dataset(timing, "comm_ms", {iters, ranks, steps}, run.comm_ms);
  write_dataset(timing, "wait_ms", {iters, ranks, steps}, run.wait_ms);
  write_dataset(timing, "total_ms", {iters, ranks}, run.total_ms);
  write_dataset(timing, "wall_ms", {iters, ranks}, run.wall_ms);
  write_passes(timing, run);
  H5Id comm = create_group(g, "comm");
  write_dataset(comm, "bytes_sent", {ranks, steps}, run.bytes_sent);
  H5Id work = create_group(g, "work");
  write_dataset(work, "flops", {ranks, steps}, run.step_flops);

  if (!run.telemetry.empty()) {
    H5Id telemetry = create_group(g, "telemetry");
    for (const auto& [name, values] : run.telemetry)
      write_dataset(telemetry, name, {ranks, 2}, values);
  }
  H5Id summary = create_group(g, "summary");
  for (const auto& [k, v] : run.summary) write_attr(summary, k, v);
  if (run.check) {
    H5Id check = create_group(g, "check");
    write_attr(check, "rel_err", run.check->rel_err);
    write_attr(check, "max_abs_err", run.check->max_abs_err);
    write_attr(check, "lse_max_abs_err", run.check->lse_max_abs_err);
    write_attr(check, "tolerance", run.check->tolerance);
    write_attr(check, "passed", std::int64_t{run.check->passed ? 1 : 0});
    if (run.check->rows > 0) write_attr(check, "rows", run.check->rows);
    if (const auto& g = run.check->gradients) {
      write_attr(check, "dq_rel_err", g->dq_rel_err);
      write_attr(check, "dk_rel_err", g->dk_rel_err);
      write_attr(check, "dv_rel_err", g->dv_rel_err);
    }
  }
  if (!run.tensors.empty()) {
    H5Id tensors = create_group(g, "tensors");
    for (const auto& t : run.tensors) {
      std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
      write_dataset(tensors, t.name, dims, t.values);
    }
    if (const BlockMap& m = run.block_map; m.blocks > 0) {
      const auto n = static_cast<hsize_t>(m.blocks);
      write_dataset(tensors, "block_map", {n, n}, m.kept);
      H5Id set = h5_dataset(RINGBENCH_CHECK_HDF5(H5Dopen2(tensors, "block_map", H5P_DEFAULT)));
      write_attr(set, "block", m.block);  // tokens per block
    }
  }
  // Written last: a reader that finds complete=1 knows every part above is there.
  write_attr(g, "complete", std::int64_t{1});
}

H5Id create_results_file(const fs::path& path) {
  H5Id f = h5_file(
      RINGBENCH_CHECK_HDF5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)));
  write_attr(f, "schema_version", std::int64_t{kSchemaVersion});
  write_attr(f, "tool_version", std::string(kToolVersion));
  write_attr(f, "git_commit", std::string(kGitCommit));
  create_group(f, "runs");
  return f;
}

// A file gets the version of the newest layout it holds; older runs stay readable as they are.
void raise_schema_version(hid_t file) {
  if (read_attr<std::int64_t>(file, "schema_version") >= kSchemaVersion) return;
  RINGBENCH_CHECK_HDF5(H5Adelete(file, "schema_version"));
  write_attr(file, "schema_version", std::int64_t{kSchemaVersion});
}

std::string next_run_id(hid_t runs) {
  H5G_info_t info{};
  RINGBENCH_CHECK_HDF5(H5Gget_info(runs, &info));
  for (hsize_t n = info.nlinks;; ++n) {
    char id[16];
    std::snprintf(id, sizeof id, "%06llu", static_cast<unsigned long long>(n));
    if (!has_link(runs, id)) return id;
  }
}

// Serialises appenders on one file (the daemon and a one-shot run may share it).
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
      throw std::runtime_error("cannot lock " + path.string());
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

fs::path folder_of(const fs::path& file) {
  return file.has_parent_path() ? file.parent_path() : fs::path(".");
}

// The name of the copy an append writes: "<file>.tmp.<pid>" beside the file.
fs::path copy_path(const fs::path& file, long pid) {
  return file.string() + ".tmp." + std::to_string(pid);
}

bool is_copy_name(const std::string& name, const std::string& file_name) {
  const std::string prefix = file_name + ".tmp.";
  return name.size() > prefix.size() && name.starts_with(prefix) &&
         std::all_of(name.begin() + prefix.size(), name.end(),
                     [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; });
}

// Removes the copies that appends killed between copy and rename left behind (each as large as
// the file). Called holding the lock, before our copy is made. Every appender holds the lock from
// before it makes its copy until the copy is renamed or removed, so while we hold it no copy can
// be an append in progress: every one is stale, whatever its pid says (a writer on another host
// sharing the folder may have a pid that is alive here, or one reused here). Were the lock not to
// exclude that writer (a flock local to one node), appends would already lose each other's runs,
// so this relies on nothing the append does not. Only regular files named exactly
// "<file>.tmp.<digits>" are touched; the line on stderr says what was removed.
void remove_stale_copies(const fs::path& file) {
  const std::string file_name = file.filename().string();
  std::vector<fs::path> stale;
  std::error_code ec;
  for (fs::directory_iterator it(folder_of(file), ec), end; !ec && it != end; it.increment(ec))
    if (is_copy_name(it->path().filename().string(), file_name)) stale.push_back(it->path());
  std::size_t removed = 0;
  unsigned long long bytes = 0;
  for (const fs::path& copy : stale) {
    struct stat st {};
    if (::lstat(copy.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::unlink(copy.c_str()) != 0)
      continue;
    ++removed;
    bytes += static_cast<unsigned long long>(st.st_size);
  }
  if (removed > 0)
    std::fprintf(stderr,
                 "# ringbench: removed %zu stale temporary cop%s of %s (%llu bytes), left by "
                 "appends that were killed\n",
                 removed, removed == 1 ? "y" : "ies", file.c_str(), bytes);
}

}  // namespace

void check_results_file_usable(const fs::path& file) {
  silence_hdf5();
  const fs::path dir = folder_of(file);
  if (!fs::is_directory(dir))
    throw ConfigError("output", file.string(),
                      "a file in an existing folder ('" + dir.string() + "' is missing)");
  if (!fs::exists(file)) return;
  if (H5Fis_hdf5(file.c_str()) <= 0)
    throw ConfigError("output", file.string(),
                      "a new file or an existing ringbench HDF5 results file");
  H5Id f = h5_file(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (f.get() < 0 || H5Aexists(f, "schema_version") <= 0)
    throw ConfigError("output", file.string(),
                      "a new file or an existing ringbench HDF5 results file");
}

std::string append_run(const fs::path& file, const RunRecord& run) {
  silence_hdf5();
  FileLock lock(fs::path(file.string() + ".lock"));
  remove_stale_copies(file);
  const fs::path tmp = copy_path(file, ::getpid());
  std::string id;
  try {
    {
      H5Id f;
      if (fs::exists(file)) {
        // Only the writing rank gets here, after the run: a file that changed under us is a
        // failure of this rank (the job aborts), not input to refuse on every rank.
        try {
          check_results_file_usable(file);
        } catch (const ConfigError& e) {
          throw LibraryError(std::string("cannot append to results file: ") + e.what());
        }
        fs::copy_file(file, tmp, fs::copy_options::overwrite_existing);
        f = h5_file(RINGBENCH_CHECK_HDF5(H5Fopen(tmp.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
        raise_schema_version(f);
      } else {
        f = create_results_file(tmp);
      }
      H5Id runs = open_group(f, "runs");
      id = next_run_id(runs);
      write_run(runs, id, run);
      RINGBENCH_CHECK_HDF5(H5Fflush(f, H5F_SCOPE_GLOBAL));
    }
    fsync_path(tmp, O_RDONLY);
    fs::rename(tmp, file);  // atomic: readers see the old file or the new one, never a mix
    fsync_path(folder_of(file), O_RDONLY | O_DIRECTORY);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  return id;
}

std::vector<std::string> list_runs(const fs::path& file) {
  silence_hdf5();
  H5Id f = h5_file(RINGBENCH_CHECK_HDF5(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)));
  H5Id runs = open_group(f, "runs");
  H5G_info_t info{};
  RINGBENCH_CHECK_HDF5(H5Gget_info(runs, &info));
  std::vector<std::string> ids;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[64] = {};
    RINGBENCH_CHECK_HDF5(H5Lget_name_by_idx(runs, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                            sizeof name, H5P_DEFAULT));
    ids.emplace_back(name);
  }
  return ids;
}

RunRecord read_run(const fs::path& file, const std::string& id) {
  silence_hdf5();
  H5Id f = h5_file(RINGBENCH_CHECK_HDF5(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)));
  H5Id g = open_group(f, "runs/" + id);
  RunRecord run;
  std::istringstream keys(read_string_attr(g, "config_keys"));
  for (std::string key; keys >> key;) run.config.emplace_back(key, read_string_attr(g, key));
  // Version 1 had no pass key: its runs timed the forward pass only.
  if (std::none_of(run.config.begin(), run.config.end(),
                   [](const auto& kv) { return kv.first == "pass"; }))
    run.config.emplace_back("pass", "fwd");

  run.world_size = static_cast<int>(read_attr<std::int64_t>(g, "world_size"));
  run.status = read_string_attr(g, "status");
  run.error = read_string_attr(g, "error");

  // Provenance: every string attribute that is not a config key or a fixed field.
  H5O_info_t oinfo{};
  RINGBENCH_CHECK_HDF5(H5Oget_info2(g, &oinfo, H5O_INFO_NUM_ATTRS));
  for (hsize_t i = 0; i < oinfo.num_attrs; ++i) {
    char name[256] = {};
    RINGBENCH_CHECK_HDF5(
        H5Aget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT));
    const std::string n = name;
    const bool known = n == "config_keys" || n == "status" || n == "error" ||
                       std::any_of(run.config.begin(), run.config.end(),
                                   [&](const auto& kv) { return kv.first == n; });
    if (!known && is_string_attr(g, n)) run.provenance[n] = read_string_attr(g, n);
  }
  run.ranks = read_ranks(g);

  std::vector<hsize_t> dims;
  H5Id timing = open_group(g, "timing");
  run.compute_ms = read_dataset<double>(timing, "compute_ms", &dims);
  run.iterations = static_cast<int>(dims.at(0));
  run.steps = static_cast<int>(dims.at(2));
  run.comm_ms = read_dataset<double>(timing, "comm_ms");
  run.wait_ms = read_dataset<double>(timing, "wait_ms");
  run.total_ms = read_dataset<double>(timing, "total_ms");
  run.wall_ms = read_dataset<double>(timing, "wall_ms");
  run.passes = read_passes(timing);
  H5Id comm = open_group(g, "comm");
  run.bytes_sent = read_dataset<std::int64_t>(comm, "bytes_sent");
  H5Id work = open_group(g, "work");
  run.step_flops = read_dataset<double>(work, "flops");

  if (has_link(g, "telemetry")) {
    H5Id telemetry = open_group(g, "telemetry");
    H5G_info_t tinfo{};
    RINGBENCH_CHECK_HDF5(H5Gget_info(telemetry, &tinfo));
    for (hsize_t i = 0; i < tinfo.nlinks; ++i) {
      char name[64] = {};
      RINGBENCH_CHECK_HDF5(H5Lget_name_by_idx(telemetry, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                              sizeof name, H5P_DEFAULT));
      run.telemetry[name] = read_dataset<double>(telemetry, name);
    }
  }
  H5Id summary = open_group(g, "summary");
  H5O_info_t sinfo{};
  RINGBENCH_CHECK_HDF5(H5Oget_info2(summary, &sinfo, H5O_INFO_NUM_ATTRS));
  for (hsize_t i = 0; i < sinfo.num_attrs; ++i) {
    char name[256] = {};
    RINGBENCH_CHECK_HDF5(H5Aget_name_by_idx(summary, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                            sizeof name, H5P_DEFAULT));
    run.summary[name] = read_attr<double>(summary, name);
  }
  if (has_link(g, "check")) {
    H5Id check = open_group(g, "check");
    run.check = read_check(check);
  }
  if (has_link(g, "tensors")) {
    H5Id tensors = open_group(g, "tensors");
    for (const char* name : {"Q", "K", "V", "O", "LSE", "dO", "dQ", "dK", "dV"}) {
      if (!has_link(tensors, name)) continue;
      TensorDump t{name, {}, read_dataset<float>(tensors, name, &dims)};
      t.shape.assign(dims.begin(), dims.end());
      run.tensors.push_back(std::move(t));
    }
    if (has_link(tensors, "block_map")) {
      run.block_map.kept = read_dataset<std::uint8_t>(tensors, "block_map", &dims);
      run.block_map.blocks = static_cast<std::int64_t>(dims.at(0));
      H5Id set = h5_dataset(RINGBENCH_CHECK_HDF5(H5Dopen2(tensors, "block_map", H5P_DEFAULT)));
      run.block_map.block = read_attr<std::int64_t>(set, "block");
    }
  }
  return run;
}

}  // namespace ringbench
