// SlurmTask: Slurm's view of a task, read from srun's environment, cross-checks MPI's only when
// Slurm's PMIx wired MPI up (srun --mpi=pmix); mpirun inside an allocation is left alone.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "distributed/MpiRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {
SlurmTask srun_task(int procid, int localid, int tasks) {
  SlurmTask t;
  t.job_id = "42";
  t.step_id = "0";
  t.procid = procid;
  t.localid = localid;
  t.step_tasks = tasks;
  t.srun_pmix = true;
  return t;
}
}  // namespace

TEST_CASE("Slurm's task numbering must be MPI's under srun --mpi=pmix", "[slurm]") {
  CHECK(srun_task(3, 1, 4).mismatch(3, 1, 4).empty());
  const std::string wrong = srun_task(3, 1, 4).mismatch(2, 1, 4);
  CHECK(wrong.find("srun step 42.0 made it task 3 of 4, local task 1") != std::string::npos);
  CHECK(wrong.find("MPI made it rank 2 of 4, local rank 1") != std::string::npos);
  CHECK_FALSE(srun_task(3, 1, 4).mismatch(3, 0, 4).empty());  // would pick another GPU
  CHECK_FALSE(srun_task(0, 0, 4).mismatch(0, 0, 1).empty());  // four separate one-rank jobs
}

TEST_CASE("ranks not wired up by Slurm are not cross-checked", "[slurm]") {
  SlurmTask t = srun_task(0, 0, 1);  // e.g. mpirun inside an allocation: the batch step's values
  t.srun_pmix = false;
  CHECK(t.mismatch(3, 1, 8).empty());
}

TEST_CASE("SlurmTask reads srun's environment", "[slurm]") {
  // The variables are put back as they were (the tests may themselves run in a Slurm job).
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* name : {"SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_PROCID", "SLURM_LOCALID",
                           "SLURM_STEP_NUM_TASKS", "PMIX_NAMESPACE"})
    if (const char* v = std::getenv(name))
      saved[name] = v;
    else
      saved[name] = std::nullopt;
  ::setenv("SLURM_JOB_ID", "17", 1);
  ::setenv("SLURM_STEP_ID", "2", 1);
  ::setenv("SLURM_PROCID", "5", 1);
  ::setenv("SLURM_LOCALID", "1", 1);
  ::setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  ::setenv("PMIX_NAMESPACE", "slurm.pmix.17.2", 1);
  SlurmTask t = SlurmTask::from_environment();
  CHECK(t.job_id == "17");
  CHECK(t.step_id == "2");
  CHECK(t.procid == 5);
  CHECK(t.localid == 1);
  CHECK(t.step_tasks == 8);
  CHECK(t.srun_pmix);
  ::setenv("PMIX_NAMESPACE", "1796997121", 1);  // Open MPI's mpirun names its namespace by number
  ::setenv("SLURM_PROCID", "x", 1);
  t = SlurmTask::from_environment();
  CHECK_FALSE(t.srun_pmix);
  CHECK(t.procid == -1);
  for (const auto& [name, value] : saved)
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
}
