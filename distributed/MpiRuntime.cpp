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
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  RINGBENCH_CHECK_MPI(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_));
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(node_, &local_rank_));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(node_, &local_size_));
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  hostname_ = host;
}

MpiRuntime::~MpiRuntime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
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
