#include "distributed/MpiRuntime.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string_view>

#include "distributed/MpiCheck.hpp"
#include "distributed/PeerWait.hpp"

namespace ringbench {

namespace {
std::string env_text(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A non-negative integer variable; -1 when unset or not a plain number.
int env_count(const char* name) {
  const std::string text = env_text(name);
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoi(text);
}
}  // namespace

SlurmTask SlurmTask::from_environment() {
  SlurmTask t;
  t.job_id = env_text("SLURM_JOB_ID");
  t.step_id = env_text("SLURM_STEP_ID");
  t.procid = env_count("SLURM_PROCID");
  t.localid = env_count("SLURM_LOCALID");
  t.step_tasks = env_count("SLURM_STEP_NUM_TASKS");
  t.srun_pmix = std::string_view(env_text("PMIX_NAMESPACE")).starts_with("slurm.pmix.");
  return t;
}

std::string SlurmTask::mismatch(int rank, int local_rank, int size) const {
  if (!srun_pmix) return "";
  if (procid == rank && localid == local_rank && step_tasks == size) return "";
  const auto n = [](int v) { return std::to_string(v); };
  return "Slurm and MPI disagree about this process: srun step " + job_id + "." + step_id +
         " made it task " + n(procid) + " of " + n(step_tasks) + ", local task " + n(localid) +
         "; MPI made it rank " + n(rank) + " of " + n(size) + ", local rank " + n(local_rank) +
         ". Start all ranks with one srun --mpi=pmix, not inside another MPI launcher";
}

MpiRuntime::MpiRuntime(int* argc, char*** argv) {
  int provided = 0;
  RINGBENCH_CHECK_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  RINGBENCH_CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  if (provided < MPI_THREAD_SERIALIZED)
    throw LibraryError("MPI library provides thread level " + std::to_string(provided) +
                       "; ringbench needs MPI_THREAD_SERIALIZED to overlap communication");
  owns_mpi_ = true;
  describe(MPI_COMM_WORLD);
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  hostname_ = host;

  const SlurmTask slurm = SlurmTask::from_environment();
  if (const std::string wrong = slurm.mismatch(rank_, local_rank_, size_); !wrong.empty())
    throw LibraryError(wrong);
  if (slurm.srun_pmix) {
    launcher_ = "srun";
    slurm_step_ = slurm.job_id + "." + slurm.step_id;
  } else if (size_ > 1) {
    launcher_ = "mpirun";
  }
}

MpiRuntime::MpiRuntime(MPI_Comm sub_ring, const MpiRuntime& parent)
    : world_(sub_ring),
      hostname_(parent.hostname_),
      launcher_(parent.launcher_),
      slurm_step_(parent.slurm_step_) {
  RINGBENCH_CHECK_MPI(MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN));
  describe(world_);
}

void MpiRuntime::describe(MPI_Comm comm) {
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(comm, &rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(comm, &size_));
  const Watchdog watchdog("MPI_Comm_split_type (the ranks of this host)", peer_timeout_s());
  RINGBENCH_CHECK_MPI(
      MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_));
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(node_, &local_rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(node_, &local_size_));
}

std::unique_ptr<MpiRuntime> MpiRuntime::first_ranks(const MpiRuntime& parent, int ranks) {
  const bool inside = parent.rank() < ranks;
  MPI_Comm sub = MPI_COMM_NULL;
  const int color = inside ? 0 : MPI_UNDEFINED;
  {
    const Watchdog watchdog("MPI_Comm_split (a sub-ring of " + std::to_string(ranks) + " ranks)",
                            peer_timeout_s());
    RINGBENCH_CHECK_MPI(MPI_Comm_split(parent.world(), color, parent.rank(), &sub));
  }
  if (!inside) return nullptr;
  return std::unique_ptr<MpiRuntime>(new MpiRuntime(sub, parent));
}

MpiRuntime::~MpiRuntime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
  if (!owns_mpi_) {
    if (world_ != MPI_COMM_NULL) MPI_Comm_free(&world_);
    return;
  }
  // Open MPI's finalize waits for every rank: a rank that stalled after its last collective must
  // not keep the others here forever.
  const Watchdog watchdog("MPI_Finalize", peer_timeout_s());
  MPI_Finalize();
}

void MpiRuntime::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this line keeps [[noreturn]] honest
}

std::string MpiRuntime::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string v(text, static_cast<std::size_t>(len));
  if (auto cut = v.find_first_of(",\n"); cut != std::string::npos) v.resize(cut);
  return v;
}

}  // namespace ringbench
