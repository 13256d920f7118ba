// The process's place in the job: MPI initialised once (under mpirun, srun or as a plain single
// process), with rank, world size, node-local rank and size, and host name. A runtime can also
// stand for a sub-ring (the first P ranks of the job, for scaling runs): its world() is then the
// sub-ring's communicator, so everything written against world() runs on the sub-ring unchanged.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

namespace ringbench {

// Slurm's view of this process, from the environment srun gives each task of a job step. MPI
// stays the source of rank and size; this only cross-checks MPI and records how ranks started.
struct SlurmTask {
  std::string job_id, step_id;                     // SLURM_JOB_ID, SLURM_STEP_ID
  int procid = -1, localid = -1, step_tasks = -1;  // SLURM_PROCID, _LOCALID, _STEP_NUM_TASKS
  // PMIX_NAMESPACE is Slurm's own ("slurm.pmix.<job>.<step>"): srun --mpi=pmix started this rank
  // and Slurm's PMIx server wired MPI up. Under mpirun (even inside an allocation) it is not.
  bool srun_pmix = false;

  static SlurmTask from_environment();
  // Under srun_pmix, Slurm's task numbering must be MPI's: SLURM_PROCID the rank, SLURM_LOCALID
  // the node-local rank (which picks the GPU), SLURM_STEP_NUM_TASKS the size. Empty when it is
  // (or when srun did not start this rank), else what differs.
  std::string mismatch(int rank, int local_rank, int size) const;
};

class MpiRuntime {
 public:
  // Initialises MPI with MPI_THREAD_SERIALIZED: the host transport sends from a helper thread
  // while the main thread computes.
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  // The first `ranks` ranks of `parent` as a runtime of their own. Collective over parent.world();
  // the ranks outside the sub-ring get nullptr. Rank 0 of the sub-ring is rank 0 of the parent,
  // and node-local ranks stay what they are in the parent (a prefix keeps each host's order).
  static std::unique_ptr<MpiRuntime> first_ranks(const MpiRuntime& parent, int ranks);

  MPI_Comm world() const { return world_; }  // the ranks of this runtime (the job or a sub-ring)
  MPI_Comm node() const { return node_; }    // those of them sharing this host's memory
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  const std::string& hostname() const { return hostname_; }
  bool is_root() const { return rank_ == 0; }
  // How the job's ranks were started: "srun" (tasks of a Slurm job step, wired up by Slurm's
  // PMIx), "mpirun" (any other launcher of several ranks) or "single" (one process on its own).
  const std::string& launcher() const { return launcher_; }
  // "<job id>.<step id>" of the Slurm step whose tasks the ranks are (launcher "srun"), else empty.
  const std::string& slurm_step() const { return slurm_step_; }

  // Ends every rank of the job at once, sub-ring or not (a failing rank must not leave the others
  // hanging).
  [[noreturn]] void abort(int code) const;

  static std::string library_version();

 private:
  MpiRuntime(MPI_Comm sub_ring, const MpiRuntime& parent);  // takes ownership of sub_ring
  void describe(MPI_Comm comm);  // rank, size, node communicator and node-local rank in comm

  MPI_Comm world_ = MPI_COMM_WORLD;
  bool owns_mpi_ = false;  // the job's runtime initialised MPI and finalises it; sub-rings do not
  MPI_Comm node_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string hostname_;
  std::string launcher_ = "single", slurm_step_;
};

}  // namespace ringbench
