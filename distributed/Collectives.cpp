#include "distributed/Collectives.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include "distributed/MpiCheck.hpp"

namespace ringbench {

namespace {

// Tags of their own, so the harness's messages never match the ring transport's (tag 0). Messages
// between two ranks with one tag arrive in order, so consecutive collectives cannot mix.
constexpr int kGatherTag = 0x7267;
constexpr int kBroadcastTag = 0x7268;
// What a rank waiting on the root allows it beyond the peer timeout (a few seconds, at most the
// timeout again): the root, waiting on a missing rank itself, gives up first and names that rank.
double with_root_grace(double limit_s) {
  return limit_s + std::min(5.0, limit_s);
}

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

int message_count(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX))
    throw LibraryError("harness message of " + std::to_string(bytes) +
                       " bytes (MPI takes < 2 GiB)");
  return static_cast<int>(bytes);
}

std::string ranks_text(const std::vector<int>& ranks) {
  std::string text = ranks.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(ranks[i]);
  }
  return text;
}

std::string missing_message(const std::vector<int>& missing, const char* what, double limit_s) {
  return ranks_text(missing) + " did not answer (" + what + ") within " + seconds_text(limit_s) +
         " (--timeout): stopped, dead or stuck";
}

// The next message from `source` with `tag`, however long, within `limit_s`.
std::string receive(MPI_Comm comm, int source, int tag, double limit_s, WaitPace pace,
                    const char* what) {
  MPI_Message message = MPI_MESSAGE_NULL;
  MPI_Status status;
  wait_until(
      [&] {
        int found = 0;
        RINGBENCH_CHECK_MPI(MPI_Improbe(source, tag, comm, &found, &message, &status));
        return found != 0;
      },
      limit_s, pace, [&] { return missing_message({source}, what, limit_s); });
  int count = 0;
  RINGBENCH_CHECK_MPI(MPI_Get_count(&status, MPI_BYTE, &count));
  std::string text(static_cast<std::size_t>(count), '\0');
  MPI_Request request = MPI_REQUEST_NULL;
  RINGBENCH_CHECK_MPI(MPI_Imrecv(text.data(), count, MPI_BYTE, &message, &request));
  wait_for(request, limit_s, pace, ranks_text({source}) + " (" + what + ")");
  return text;
}

void send(MPI_Comm comm, const std::string& text, int dest, int tag, double limit_s, WaitPace pace,
          const char* what) {
  MPI_Request request = MPI_REQUEST_NULL;
  RINGBENCH_CHECK_MPI(
      MPI_Isend(text.data(), message_count(text.size()), MPI_BYTE, dest, tag, comm, &request));
  wait_for(request, limit_s, pace, ranks_text({dest}) + " (" + what + ")");
}

// Rank root gets every rank's `mine` in rank order (the others get nothing). The root takes
// contributions as they come and, on timeout, names every rank that has not sent one.
std::vector<std::string> gather_text(MPI_Comm comm, const std::string& mine, int root,
                                     WaitPace pace, const char* what) {
  const double limit_s = peer_timeout_s();
  if (rank_of(comm) != root) {
    send(comm, mine, root, kGatherTag, with_root_grace(limit_s), pace, what);
    return {};
  }
  const int ranks = size_of(comm);
  std::vector<std::string> all(static_cast<std::size_t>(ranks));
  std::vector<MPI_Request> requests(static_cast<std::size_t>(ranks), MPI_REQUEST_NULL);
  std::vector<bool> probed(static_cast<std::size_t>(ranks), false);
  all[static_cast<std::size_t>(root)] = mine;
  probed[static_cast<std::size_t>(root)] = true;
  const auto missing = [&] {
    std::vector<int> out;
    for (int r = 0; r < ranks; ++r) {
      int complete = 1;
      if (requests[r] != MPI_REQUEST_NULL)
        RINGBENCH_CHECK_MPI(MPI_Test(&requests[r], &complete, MPI_STATUS_IGNORE));
      if (!probed[r] || !complete) out.push_back(r);
    }
    return out;
  };
  wait_until(
      [&] {
        for (int r = 0; r < ranks; ++r) {
          if (probed[r]) continue;
          int found = 0;
          MPI_Message message = MPI_MESSAGE_NULL;
          MPI_Status status;
          RINGBENCH_CHECK_MPI(MPI_Improbe(r, kGatherTag, comm, &found, &message, &status));
          if (!found) continue;
          int count = 0;
          RINGBENCH_CHECK_MPI(MPI_Get_count(&status, MPI_BYTE, &count));
          all[r].resize(static_cast<std::size_t>(count));
          RINGBENCH_CHECK_MPI(MPI_Imrecv(all[r].data(), count, MPI_BYTE, &message, &requests[r]));
          probed[r] = true;
        }
        return missing().empty();
      },
      limit_s, pace, [&] { return missing_message(missing(), what, limit_s); });
  return all;
}

void broadcast_text(MPI_Comm comm, std::string& text, int root, WaitPace pace, const char* what) {
  const double limit_s = peer_timeout_s();
  if (rank_of(comm) != root) {
    text = receive(comm, root, kBroadcastTag, with_root_grace(limit_s), pace, what);
    return;
  }
  const int ranks = size_of(comm);
  std::vector<MPI_Request> requests;
  std::vector<int> dests;
  for (int r = 0; r < ranks; ++r) {
    if (r == root) continue;
    requests.emplace_back(MPI_REQUEST_NULL);
    dests.push_back(r);
    RINGBENCH_CHECK_MPI(MPI_Isend(text.data(), message_count(text.size()), MPI_BYTE, r,
                                  kBroadcastTag, comm, &requests.back()));
  }
  const auto missing = [&] {
    std::vector<int> out;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      int complete = 0;
      RINGBENCH_CHECK_MPI(MPI_Test(&requests[i], &complete, MPI_STATUS_IGNORE));
      if (!complete) out.push_back(dests[i]);
    }
    return out;
  };
  wait_until([&] { return missing().empty(); }, limit_s, pace,
             [&] { return missing_message(missing(), what, limit_s); });
}

template <typename T>
std::string as_bytes(std::span<const T> values) {
  std::string bytes(values.size_bytes(), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), values.size_bytes());
  return bytes;
}

template <typename T>
std::vector<T> from_bytes(const std::string& bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

// Every rank's value folded by `pick` at the root in rank order (not in the order of arrival, so
// a sum is reproducible), then known to every rank.
template <typename T, typename Pick>
T combine(MPI_Comm comm, T value, Pick pick, WaitPace pace, const char* what) {
  const auto parts = gather_text(comm, as_bytes(std::span<const T>(&value, 1)), 0, pace, what);
  T out = value;  // the root's result is replaced by the fold; the others get it broadcast
  for (std::size_t r = 0; r < parts.size(); ++r) {
    const T v = from_bytes<T>(parts[r]).at(0);
    out = r == 0 ? v : pick(out, v);
  }
  std::string text = as_bytes(std::span<const T>(&out, 1));
  broadcast_text(comm, text, 0, pace, what);
  return from_bytes<T>(text).at(0);
}

template <typename T>
std::vector<T> gather_fixed(MPI_Comm comm, std::span<const T> values, int root) {
  std::vector<T> all;
  for (const auto& part : gather_text(comm, as_bytes(values), root, WaitPace::prompt, "gather")) {
    const std::vector<T> some = from_bytes<T>(part);
    all.insert(all.end(), some.begin(), some.end());
  }
  return all;
}

}  // namespace

void broadcast(MPI_Comm comm, std::string& text, int root, WaitPace pace) {
  broadcast_text(comm, text, root, pace, "broadcast");
}

void barrier(MPI_Comm comm) {
  gather_text(comm, {}, 0, WaitPace::prompt, "barrier");
  std::string nothing;
  broadcast_text(comm, nothing, 0, WaitPace::prompt, "barrier");
}

bool all_true(MPI_Comm comm, bool ok) {
  return combine<int>(
             comm, ok ? 1 : 0, [](int a, int b) { return a && b ? 1 : 0; }, WaitPace::prompt,
             "all_true") != 0;
}

double sum_all(MPI_Comm comm, double value) {
  return combine<double>(
      comm, value, [](double a, double b) { return a + b; }, WaitPace::prompt, "sum");
}

void sum_all(MPI_Comm comm, std::span<double> values) {
  constexpr std::size_t kPiece = std::size_t{1} << 30;  // MPI counts are int
  for (std::size_t at = 0; at < values.size(); at += kPiece) {
    MPI_Request request = MPI_REQUEST_NULL;
    RINGBENCH_CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, values.data() + at,
                                       static_cast<int>(std::min(kPiece, values.size() - at)),
                                       MPI_DOUBLE, MPI_SUM, comm, &request));
    wait_for(request, with_root_grace(peer_timeout_s()), WaitPace::prompt,
             "a sum over every rank (some rank is stopped, dead or stuck)");
  }
}

double max_all(MPI_Comm comm, double value) {
  return combine<double>(
      comm, value, [](double a, double b) { return std::max(a, b); }, WaitPace::prompt, "max");
}

int max_all(MPI_Comm comm, int value, WaitPace pace) {
  return combine<int>(
      comm, value, [](int a, int b) { return std::max(a, b); }, pace, "max");
}

std::vector<double> gather(MPI_Comm comm, std::span<const double> values, int root) {
  return gather_fixed(comm, values, root);
}

std::vector<float> gather(MPI_Comm comm, std::span<const float> values, int root) {
  return gather_fixed(comm, values, root);
}

std::vector<long long> gather(MPI_Comm comm, std::span<const long long> values, int root) {
  return gather_fixed(comm, values, root);
}

std::vector<std::string> gather(MPI_Comm comm, const std::string& text, int root) {
  return gather_text(comm, text, root, WaitPace::prompt, "gather");
}

std::string first_error(MPI_Comm comm, const std::string& error) {
  std::string first;
  for (const auto& e : gather_text(comm, error, 0, WaitPace::prompt, "agreement"))
    if (first.empty() && !e.empty()) first = e;
  broadcast_text(comm, first, 0, WaitPace::prompt, "agreement");
  return first;
}

void all_to_all(MPI_Comm comm, const float* send, float* recv, std::size_t chunk) {
  if (chunk > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("all_to_all: chunks of more than 2^31 values");
  int rank = 0, size = 1;
  RINGBENCH_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  RINGBENCH_CHECK_MPI(MPI_Comm_size(comm, &size));
  // One receive and one send per peer (not MPI_Ialltoall), so a timeout can name the peers
  // that sent nothing.
  const auto n = static_cast<int>(chunk);
  std::vector<MPI_Request> receives(static_cast<std::size_t>(size), MPI_REQUEST_NULL);
  std::vector<MPI_Request> sends(receives);
  for (int p = 0; p < size; ++p) {
    RINGBENCH_CHECK_MPI(MPI_Irecv(recv + p * chunk, n, MPI_FLOAT, p, 7, comm, &receives[p]));
    RINGBENCH_CHECK_MPI(MPI_Isend(send + p * chunk, n, MPI_FLOAT, p, 7, comm, &sends[p]));
  }
  std::vector<int> arrived(static_cast<std::size_t>(size), 0), sent(arrived);
  auto all_done = [&] {
    bool done = true;
    for (int p = 0; p < size; ++p) {
      if (!arrived[p]) RINGBENCH_CHECK_MPI(MPI_Test(&receives[p], &arrived[p], MPI_STATUS_IGNORE));
      if (!sent[p]) RINGBENCH_CHECK_MPI(MPI_Test(&sends[p], &sent[p], MPI_STATUS_IGNORE));
      done = done && arrived[p] && sent[p];
    }
    return done;
  };
  try {
    wait_until(all_done, peer_timeout_s(), WaitPace::prompt, [&] {
      std::string from, to;
      for (int p = 0; p < size; ++p) {
        if (!arrived[p]) from += (from.empty() ? "" : ", ") + std::to_string(p);
        if (!sent[p]) to += (to.empty() ? "" : ", ") + std::to_string(p);
      }
      std::string text = from.empty() ? "" : "nothing from rank " + from;
      if (!to.empty())
        text += (text.empty() ? "" : ", and ") + ("rank " + to + " did not take its chunk");
      return "all-to-all: " + text + " within " + seconds_text(peer_timeout_s()) +
             " (--timeout): stopped, dead or stuck";
    });
  } catch (const PeerTimeout&) {
    // nothing may land later in buffers the caller gives up on
    for (int p = 0; p < size; ++p) {
      if (!arrived[p]) MPI_Cancel(&receives[p]), MPI_Wait(&receives[p], MPI_STATUS_IGNORE);
      if (!sent[p]) MPI_Request_free(&sends[p]);
    }
    throw;
  }
}

}  // namespace ringbench
