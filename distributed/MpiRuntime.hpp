// The process's place in the job: MPI initialised once (under mpirun, srun or as a plain single
// process), with rank, world size, node-local rank and size, and host name.
#pragma once

#include <mpi.h>

#include <string>

namespace ringbench {

class MpiRuntime {
 public:
  // Initialises MPI with MPI_THREAD_SERIALIZED: the host transport sends from a helper thread
  // while the main thread computes.
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  MPI_Comm world() const { return MPI_COMM_WORLD; }
  MPI_Comm node() const { return node_; }  // ranks sharing this host's memory
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  const std::string& hostname() const { return hostname_; }
  bool is_root() const { return rank_ == 0; }

  // Ends every rank of the job at once (a failing rank must not leave the others hanging).
  [[noreturn]] void abort(int code) const;

  static std::string library_version();

 private:
  MPI_Comm node_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string hostname_;
};

}  // namespace ringbench
