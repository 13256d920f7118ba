#include "apps/SweepProgress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/FlopCount.hpp"

namespace ringbench {

SweepClock::SweepClock(const std::vector<BenchmarkCase>& cases) {
  for (const auto& c : cases) {
    work_.push_back(attention_flops(c.spec) * (c.warmup + c.iters + (c.check ? 1 : 0)));
    work_total_ += work_.back();
  }
}

void SweepClock::finished(std::size_t index) {
  work_done_ += work_.at(index);
  ++done_;
}

void SweepClock::skipped(std::size_t index) {
  work_total_ -= work_.at(index);
  ++done_;
}

double SweepClock::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double SweepClock::remaining_s() const {
  if (work_done_ <= 0) return -1;
  return elapsed_s() * (work_total_ - work_done_) / work_done_;
}

std::string SweepClock::line(std::size_t current) const {
  std::string text = "case " + std::to_string(current + 1) + "/" + std::to_string(total()) + ", " +
                     clock_text(elapsed_s()) + " elapsed";
  const double left = remaining_s();
  if (left < 0) return text;
  // Huge estimates come from huge cases, which usually turn out not to fit (then they take no
  // time).
  if (left > 99 * 3600.0) return text + ", more than 99 h left";
  return text + ", about " + clock_text(left) + " left";
}

std::string clock_text(double seconds) {
  const long s = std::max(0L, static_cast<long>(seconds + 0.5));
  char text[32];
  std::snprintf(text, sizeof text, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

namespace {
bool wants_bar(std::FILE* out) {
  const char* choice = std::getenv("RINGBENCH_PROGRESS");
  if (choice && std::string(choice) == "bar") return true;
  if (choice && std::string(choice) == "lines") return false;
  const bool under_mpirun = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
  return !under_mpirun && ::isatty(::fileno(out)) != 0;
}
}  // namespace

ProgressDisplay::ProgressDisplay(std::FILE* out) : out_(out), bar_(wants_bar(out)) {}

void ProgressDisplay::starting(const SweepClock& clock, std::size_t index,
                               const std::string& what) {
  if (!bar_) {
    std::fprintf(out_, "# %s: %s\n", clock.line(index).c_str(), what.c_str());
    std::fflush(out_);
    return;
  }
  constexpr int kWidth = 30;
  const int filled = clock.total() ? static_cast<int>(kWidth * clock.done() / clock.total()) : 0;
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::fprintf(out_, "\r\033[K[%s] %s: %s", bar.c_str(), clock.line(index).c_str(), what.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressDisplay::clear() {
  if (!drawn_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  drawn_ = false;
}

void ProgressDisplay::finished() {
  clear();
}

}  // namespace ringbench
