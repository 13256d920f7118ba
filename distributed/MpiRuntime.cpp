#include "distributed/MpiRuntime.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "distributed/MpiCheck.hpp"

namespace ringbench {

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
}

MpiRuntime::MpiRuntime(MPI_Comm sub_ring, std::string hostname)
    : world_(sub_ring), hostname_(std::move(hostname)) {
  RINGBENCH_CHECK_MPI(MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN));
  describe(world_);
}

void MpiRuntime::describe(MPI_Comm comm) {
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(comm, &rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(comm, &size_));
  RINGBENCH_CHECK_MPI(
      MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_));
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(node_, &local_rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(node_, &local_size_));
}

std::unique_ptr<MpiRuntime> MpiRuntime::first_ranks(const MpiRuntime& parent, int ranks) {
  const bool inside = parent.rank() < ranks;
  MPI_Comm sub = MPI_COMM_NULL;
  const int color = inside ? 0 : MPI_UNDEFINED;
  RINGBENCH_CHECK_MPI(MPI_Comm_split(parent.world(), color, parent.rank(), &sub));
  if (!inside) return nullptr;
  return std::unique_ptr<MpiRuntime>(new MpiRuntime(sub, parent.hostname()));
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
