#include "ring/Provenance.hpp"

#include <hdf5.h>

#include <boost/version.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <set>

#include "core/Version.hpp"

namespace ringbench {

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

namespace {
std::string join_unique(const std::vector<RankInfo>& ranks, std::string RankInfo::*field) {
  std::set<std::string> seen;
  std::string out;
  for (const auto& r : ranks)
    if (seen.insert(r.*field).second) out += (out.empty() ? "" : ",") + r.*field;
  return out;
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}
}  // namespace

std::map<std::string, std::string> collect_provenance(const MpiRuntime& rt,
                                                      const std::vector<RankInfo>& ranks) {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return {
      {"created_utc", utc_now_iso8601()},
      {"tool_version", kToolVersion},
      {"git_commit", kGitCommit},
      {"hostnames", join_unique(ranks, &RankInfo::host)},
      {"device_names", join_unique(ranks, &RankInfo::device)},
      {"mpi_version", MpiRuntime::library_version()},
      {"hdf5_version",
       std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release)},
      {"boost_version",
       std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000)},
      {"compiler", __VERSION__},
      {"slurm_job_id", env_or("SLURM_JOB_ID", "")},
      {"slurm_nodelist", env_or("SLURM_JOB_NODELIST", "")},
      // srun, mpirun or single; under srun the step ("<job>.<step>") whose tasks the ranks were
      {"launcher", rt.launcher()},
      {"slurm_step", rt.slurm_step()},
  };
}

}  // namespace ringbench
