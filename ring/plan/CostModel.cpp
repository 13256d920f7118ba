#include "ring/plan/CostModel.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "core/Error.hpp"
#include "core/Statistics.hpp"

namespace ringbench {

MeasuredCurve::MeasuredCurve(std::vector<std::pair<double, double>> points, bool floor)
    : floor_(floor) {
  std::map<double, std::vector<double>> by_size;
  for (const auto& [size, ms] : points)
    if (size > 0 && ms > 0) by_size[size].push_back(ms);
  for (const auto& [size, ms] : by_size) points_.emplace_back(size, percentile(ms, 0.5));
}

double MeasuredCurve::ms(double size) const {
  if (points_.empty() || size <= 0) return 0.0;
  const auto& first = points_.front();
  const auto& last = points_.back();
  if (size <= first.first) return floor_ ? first.second : first.second * size / first.first;
  if (size >= last.first) return last.second * size / last.first;
  const auto hi = std::lower_bound(points_.begin(), points_.end(), size,
                                   [](const auto& p, double s) { return p.first < s; });
  const auto lo = hi - 1;
  const double t = (size - lo->first) / (hi->first - lo->first);
  return lo->second + t * (hi->second - lo->second);
}

namespace {

bool same_shape(const ComputeSample& s, const ComputeQuery& q) {
  return s.device == q.device && s.pass == q.pass && s.dtype == q.dtype &&
         s.head_dim == q.head_dim && (q.kernel == "auto" || s.kernel == q.kernel);
}

std::string query_words(const ComputeQuery& q) {
  return q.device + " " + q.kernel + " " + q.pass + " " + q.dtype + " head-dim " +
         std::to_string(q.head_dim);
}

}  // namespace

ChosenCurve ComputeModel::curve(const ComputeQuery& q, bool full, double flops) const {
  std::set<int> concurrencies;
  for (const auto& s : samples_)
    if (same_shape(s, q)) concurrencies.insert(s.concurrency);
  if (concurrencies.empty())
    throw ConfigError("calibration", query_words(q),
                      "a calibration with this device, kernel, pass, dtype and head dim "
                      "(ringbench calibrate with the case's keys)");
  // the measured concurrency nearest the query's
  int concurrency = *concurrencies.begin();
  for (int c : concurrencies)
    if (std::abs(c - q.concurrency) < std::abs(concurrency - q.concurrency)) concurrency = c;
  // partial steps read their mask's curve, else causal's (partial tiles too), else whole blocks
  std::vector<std::string> steps = {"full"};
  if (!full) steps = {q.mask, "causal", "full"};
  for (const std::string& step : steps) {
    std::map<std::string, std::vector<std::pair<double, double>>> by_kernel;
    for (const auto& s : samples_)
      if (same_shape(s, q) && s.concurrency == concurrency && s.step == step)
        by_kernel[s.kernel].emplace_back(s.flops, s.ms);
    if (by_kernel.empty()) continue;
    ChosenCurve best;
    double best_ms = std::numeric_limits<double>::infinity();
    for (auto& [kernel, points] : by_kernel) {
      MeasuredCurve curve(std::move(points));
      const double ms = curve.ms(flops);
      if (ms < best_ms) {
        best_ms = ms;
        best.curve = std::move(curve);
        best.words = kernel + " " + step + " steps (" + std::to_string(best.curve.points()) +
                     " sizes, " + std::to_string(concurrency) + " at once)";
      }
    }
    return best;
  }
  throw ConfigError("calibration", query_words(q), "steps of this kind in the calibration");
}

LinkModel LinkModel::measured(const std::string& name, const std::vector<LinkSample>& samples,
                              const std::string& words) {
  LinkModel m;
  std::vector<std::pair<double, double>> points;
  for (const auto& s : samples)
    if (s.link == name) points.emplace_back(s.bytes, s.ms);
  m.curve_ = MeasuredCurve(std::move(points), true);
  m.overlaps_ = name == "nccl" || name == "device-copy";
  m.words_ = !words.empty() ? words
                            : name + " (measured, " + std::to_string(m.curve_.points()) + " sizes)";
  return m;
}

LinkModel LinkModel::rated(const std::string& kind, double gb_per_s, double latency_us,
                           const std::string& origin) {
  LinkModel m;
  m.gb_per_s_ = gb_per_s;
  m.latency_ms_ = latency_us * 1e-3;
  m.overlaps_ = kind != "mpi" && kind != "host-copy";
  char text[160];
  std::snprintf(text, sizeof text, "%s (%s: %.1f GB/s, %.1f us)", kind.c_str(), origin.c_str(),
                gb_per_s, latency_us);
  m.words_ = text;
  return m;
}

double LinkModel::ms(double bytes) const {
  if (bytes <= 0) return 0.0;
  if (!curve_.empty()) return curve_.ms(bytes);
  return latency_ms_ + bytes / (gb_per_s_ * 1e9) * 1e3;
}

}  // namespace ringbench
