// Progress of a sweep: case i of n, time elapsed and an estimate of the time left. The estimate
// weighs the cases by their FLOPs (times iterations), since attention time grows with them and a
// sweep's last, longest cases would make a per-case average far too optimistic.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/BenchmarkCase.hpp"

namespace ringbench {

class SweepClock {
 public:
  explicit SweepClock(const std::vector<BenchmarkCase>& cases);

  void finished(std::size_t index);  // case `index` is done (run or refused)
  void skipped(std::size_t index);   // case `index` took no time (refused, or done before a resume)
  std::size_t done() const { return done_; }
  std::size_t total() const { return work_.size(); }
  double elapsed_s() const;
  double remaining_s() const;  // negative: no estimate yet
  // "case 3/12, 00:01:10 elapsed, about 00:02:30 left"
  std::string line(std::size_t current) const;

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::vector<double> work_;
  double work_done_ = 0, work_total_ = 0;
  std::size_t done_ = 0;
};

// "01:02:03"
std::string clock_text(double seconds);

// Rank 0's display on `out`: on a terminal a bar redrawn in place; otherwise (a log) one plain line
// per case, so logs read top to bottom. mpirun gives every rank a pseudo-terminal for stdout even
// when its own output goes to a file, so under mpirun the bar is drawn only on request:
// RINGBENCH_PROGRESS=bar forces the bar, RINGBENCH_PROGRESS=lines the lines.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::FILE* out);
  void starting(const SweepClock& clock, std::size_t index, const std::string& what);
  void clear();  // before other output on the terminal
  void finished();

 private:
  std::FILE* out_;
  bool bar_;
  bool drawn_ = false;
};

}  // namespace ringbench
