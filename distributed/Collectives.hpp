// The few collectives the harness needs, on plain host data, every wait bounded.
//
// Each is a gather to the root and/or a broadcast from it in point-to-point messages, not an MPI
// collective: the root then knows exactly which rank did not answer, and a rank that stalls (or
// never arrives, having refused its options) is named in a PeerTimeout after the peer timeout
// (distributed/PeerWait.hpp) instead of hanging every other rank. Ranks waiting on the root allow
// it a few seconds more, so the root's message (naming the missing rank) is the one users read.
#pragma once

#include <mpi.h>

#include <span>
#include <string>
#include <vector>

#include "distributed/PeerWait.hpp"

namespace ringbench {

void broadcast(MPI_Comm comm, std::string& text, int root = 0, WaitPace pace = WaitPace::prompt);
// Every rank is here: returns on every rank once all have arrived.
void barrier(MPI_Comm comm);
// True on every rank when `ok` is true on every rank.
bool all_true(MPI_Comm comm, bool ok);
double sum_all(MPI_Comm comm, double value);
// Element-wise sum over the ranks, in place on every rank. For large vectors (a check's row
// statistics): an MPI reduction, bounded by the peer timeout, that cannot say which rank is late.
void sum_all(MPI_Comm comm, std::span<double> values);
double max_all(MPI_Comm comm, double value);
int max_all(MPI_Comm comm, int value, WaitPace pace = WaitPace::prompt);
// Rank root receives every rank's values, in rank order; all ranks must pass the same count.
std::vector<double> gather(MPI_Comm comm, std::span<const double> values, int root = 0);
std::vector<float> gather(MPI_Comm comm, std::span<const float> values, int root = 0);
std::vector<long long> gather(MPI_Comm comm, std::span<const long long> values, int root = 0);
std::vector<std::string> gather(MPI_Comm comm, const std::string& text, int root = 0);
// The first non-empty `error` over the ranks in rank order, known to every rank ("" when none):
// lets a failure found on one rank be refused by all with the same message.
std::string first_error(MPI_Comm comm, const std::string& error);

// Every rank sends `chunk` floats to every rank ([peer][chunk] in `send`) and receives as many
// from each ([peer][chunk] in `recv`); bounded by the peer timeout like every other wait.
void all_to_all(MPI_Comm comm, const float* send, float* recv, std::size_t chunk);

}  // namespace ringbench
