// The process's place in the job: MPI initialised once (under mpirun, srun or as a plain single
// process), with rank, world size, node-local rank and size, and host name. A runtime can also
// stand for a sub-ring (the first P ranks of the job, for scaling runs): its world() is then the
// sub-ring's communicator, so everything written against world() runs on the sub-ring unchanged.
#pragma once

#include <mpi.h>

#include <memory>
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

  // Ends every rank of the job at once, sub-ring or not (a failing rank must not leave the others
  // hanging).
  [[noreturn]] void abort(int code) const;

  static std::string library_version();

 private:
  MpiRuntime(MPI_Comm sub_ring, std::string hostname);  // takes ownership of sub_ring
  void describe(MPI_Comm comm);  // rank, size, node communicator and node-local rank in comm

  MPI_Comm world_ = MPI_COMM_WORLD;
  bool owns_mpi_ = false;  // the job's runtime initialised MPI and finalises it; sub-rings do not
  MPI_Comm node_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string hostname_;
};

}  // namespace ringbench
