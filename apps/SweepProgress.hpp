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

// Rank 0's display: on a terminal a bar redrawn in place on stderr; otherwise (a log) one plain
// line per case on stdout, so logs read top to bottom.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::FILE* log);
  void starting(const SweepClock& clock, std::size_t index, const std::string& what);
  void clear();  // before other output on the terminal
  void finished();

 private:
  std::FILE* log_;
  bool terminal_;
  bool drawn_ = false;
};

}  // namespace ringbench
