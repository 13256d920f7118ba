// The few collectives the harness needs, on plain host data.
#pragma once

#include <mpi.h>

#include <span>
#include <string>
#include <vector>

namespace ringbench {

void broadcast(MPI_Comm comm, std::string& text, int root = 0);
// True on every rank when `ok` is true on every rank.
bool all_true(MPI_Comm comm, bool ok);
double sum_all(MPI_Comm comm, double value);
double max_all(MPI_Comm comm, double value);
// Rank root receives every rank's values, in rank order; all ranks must pass the same count.
std::vector<double> gather(MPI_Comm comm, std::span<const double> values, int root = 0);
std::vector<float> gather(MPI_Comm comm, std::span<const float> values, int root = 0);
std::vector<long long> gather(MPI_Comm comm, std::span<const long long> values, int root = 0);
std::vector<std::string> gather(MPI_Comm comm, const std::string& text, int root = 0);
// The first non-empty `error` over the ranks in rank order, known to every rank ("" when none):
// lets a failure found on one rank be refused by all with the same message.
std::string first_error(MPI_Comm comm, const std::string& error);

}  // namespace ringbench
