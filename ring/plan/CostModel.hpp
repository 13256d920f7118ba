// Step times from measurements: a ring step's compute time from its exact FLOPs, an exchange's
// time from its bytes, each read off a curve of measured points (ring/plan/Calibration). Between
// two points the time is linear in the size; past the largest, the largest point's rate holds;
// below the smallest, the smallest point's rate (kernels) or its time (links: latency).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ring/plan/Calibration.hpp"

namespace ringbench {

class MeasuredCurve {
 public:
  MeasuredCurve() = default;
  // (size, ms) points; points of the same size are merged into their median. `floor`: below the
  // smallest size the time stays the smallest point's (a link's latency) instead of shrinking.
  explicit MeasuredCurve(std::vector<std::pair<double, double>> points, bool floor = false);
  bool empty() const { return points_.empty(); }
  double ms(double size) const;
  std::size_t points() const { return points_.size(); }

 private:
  std::vector<std::pair<double, double>> points_;  // ascending size
  bool floor_ = false;
};

// What a step's compute depends on besides its FLOPs.
struct ComputeQuery {
  std::string device, kernel, pass, dtype;  // kernel "auto": the fastest calibrated one
  int head_dim = 0;
  int concurrency = 1;
  std::string mask;  // the case's mask spec: the curve of its partial steps
};

// A curve chosen for a kind of step, and how the plan names it.
struct ChosenCurve {
  MeasuredCurve curve;
  std::string words;
};

class ComputeModel {
 public:
  explicit ComputeModel(const std::vector<ComputeSample>& samples) : samples_(samples) {}
  // The curve of `q`'s whole blocks (`full`) or partial ones: its mask's, else causal's (partial
  // tiles too), else whole blocks'; the measured concurrency nearest the query's; with kernel
  // "auto" the calibrated kernel fastest at `typical_flops`. Throws ConfigError ("calibration")
  // when no curve matches the device, kernel, pass, precision and head dim.
  ChosenCurve curve(const ComputeQuery& q, bool full, double typical_flops) const;
  // Milliseconds of one step of `flops`.
  double step_ms(const ComputeQuery& q, bool full, double flops) const {
    return flops > 0 ? curve(q, full, flops).curve.ms(flops) : 0.0;
  }

 private:
  std::vector<ComputeSample> samples_;
};

// One link of the ring: measured exchanges, or a bandwidth and latency.
class LinkModel {
 public:
  // `words` (empty: "NAME (measured, N sizes)") say where the samples come from.
  static LinkModel measured(const std::string& name, const std::vector<LinkSample>& samples,
                            const std::string& words = "");
  // `kind` as link_of names it; `origin` says where the numbers come from ("given", "assumed").
  static LinkModel rated(const std::string& kind, double gb_per_s, double latency_us,
                         const std::string& origin);
  double ms(double bytes) const;
  // Whether the transfer runs while the kernel computes (NCCL, device copies) or takes its own
  // time on the rank (MPI and host copies on CPU ranks).
  bool overlaps_compute() const { return overlaps_; }
  const std::string& words() const { return words_; }

 private:
  MeasuredCurve curve_;
  double gb_per_s_ = 0, latency_ms_ = 0;
  bool overlaps_ = true;
  std::string words_;
};

}  // namespace ringbench
