#include "distributed/Collectives.hpp"

#include <utility>

#include "distributed/MpiCheck.hpp"

namespace ringbench {

namespace {
int rank_of(MPI_Comm comm) {
  int r = 0;
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(comm, &r));
  return r;
}
int size_of(MPI_Comm comm) {
  int n = 0;
  RINGBENCH_CHECK_MPI(MPI_Comm_size(comm, &n));
  return n;
}

template <typename T>
std::vector<T> gather_fixed(MPI_Comm comm, std::span<const T> values, MPI_Datatype type, int root) {
  std::vector<T> all(rank_of(comm) == root ? values.size() * size_of(comm) : 0);
  RINGBENCH_CHECK_MPI(MPI_Gather(values.data(), static_cast<int>(values.size()), type, all.data(),
                                 static_cast<int>(values.size()), type, root, comm));
  return all;
}
}  // namespace

void broadcast(MPI_Comm comm, std::string& text, int root) {
  unsigned long long n = text.size();
  RINGBENCH_CHECK_MPI(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, comm));
  text.resize(n);
  RINGBENCH_CHECK_MPI(MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, root, comm));
}

bool all_true(MPI_Comm comm, bool ok) {
  int local = ok ? 1 : 0, all = 0;
  RINGBENCH_CHECK_MPI(MPI_Allreduce(&local, &all, 1, MPI_INT, MPI_LAND, comm));
  return all != 0;
}

double sum_all(MPI_Comm comm, double value) {
  double out = 0;
  RINGBENCH_CHECK_MPI(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, comm));
  return out;
}

double max_all(MPI_Comm comm, double value) {
  double out = 0;
  RINGBENCH_CHECK_MPI(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm));
  return out;
}

std::vector<double> gather(MPI_Comm comm, std::span<const double> values, int root) {
  return gather_fixed(comm, values, MPI_DOUBLE, root);
}

std::vector<float> gather(MPI_Comm comm, std::span<const float> values, int root) {
  return gather_fixed(comm, values, MPI_FLOAT, root);
}

std::vector<long long> gather(MPI_Comm comm, std::span<const long long> values, int root) {
  return gather_fixed(comm, values, MPI_LONG_LONG, root);
}

std::vector<std::string> gather(MPI_Comm comm, const std::string& text, int root) {
  const int n = static_cast<int>(text.size());
  const int ranks = size_of(comm);
  const bool is_root = rank_of(comm) == root;
  std::vector<int> sizes(is_root ? ranks : 0), offsets(is_root ? ranks : 0);
  RINGBENCH_CHECK_MPI(MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, root, comm));
  std::string joined;
  if (is_root) {
    int total = 0;
    for (int r = 0; r < ranks; ++r) offsets[r] = std::exchange(total, total + sizes[r]);
    joined.resize(static_cast<std::size_t>(total));
  }
  RINGBENCH_CHECK_MPI(MPI_Gatherv(text.data(), n, MPI_CHAR, joined.data(), sizes.data(),
                                  offsets.data(), MPI_CHAR, root, comm));
  std::vector<std::string> out;
  for (int r = 0; is_root && r < ranks; ++r) out.push_back(joined.substr(offsets[r], sizes[r]));
  return out;
}

std::string first_error(MPI_Comm comm, const std::string& error) {
  std::string first;
  for (const auto& e : gather(comm, error))
    if (first.empty() && !e.empty()) first = e;
  broadcast(comm, first);
  return first;
}

}  // namespace ringbench
