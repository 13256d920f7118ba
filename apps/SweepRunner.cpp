#include "apps/SweepRunner.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>

#include "apps/Scaling.hpp"
#include "core/Error.hpp"
#include "core/ResultsFile.hpp"
#include "distributed/Collectives.hpp"
#include "distributed/PeerWait.hpp"
#include "ring/Provenance.hpp"
#include "ring/RingBenchmark.hpp"

namespace ringbench {

namespace {

// How a case ended, as rank 0 (on every ring) tells the ranks that may have waited outside it.
struct CaseEnd {
  std::optional<ConfigError> refusal;
  bool check_failed = false;

  std::string encode() const {
    std::string text = check_failed ? "1" : "0";
    if (refusal) text += refusal->key() + '\0' + refusal->value() + '\0' + refusal->allowed();
    return text;
  }
  static CaseEnd decode(const std::string& text) {
    CaseEnd end;
    end.check_failed = text.at(0) == '1';
    if (text.size() == 1) return end;
    const std::size_t a = text.find('\0', 1), b = text.find('\0', a + 1);
    end.refusal =
        ConfigError(text.substr(1, a - 1), text.substr(a + 1, b - a - 1), text.substr(b + 1));
    return end;
  }
};

// Runs the case where this rank is on its ring. A ConfigError from inside the ring (memory plan,
// GPU choice, unsupported shape) is raised on all of the ring's ranks together, so it is caught
// and reported rather than ending the job.
CaseEnd run_on_ring(const BenchmarkCase& c, const MpiRuntime* ring, BenchmarkOutcome& outcome) {
  CaseEnd end;
  if (!ring) return end;
  try {
    outcome = run_ring_benchmark(c, *ring);
    end.check_failed = outcome.check_failed;
  } catch (const ConfigError& e) {
    end.refusal = e;
  }
  return end;
}

// How long a rank outside the case's ring waits for it. Every wait inside the ring is bounded by
// the case's timeout, so the ring ends the case (or aborts the job) within its number of waits
// times the timeout: per iteration and pass, one per step and the iteration's barrier, plus the
// setup, check and gathering of results.
double case_allowance_s(const BenchmarkCase& c, const CasePlacement& p) {
  const int steps = std::max(p.ranks, c.virtual_ranks);
  const int passes = c.pass == PassKind::fwdbwd ? 2 : 1;
  const double waits = static_cast<double>(c.warmup + c.iters + 1) * passes * (steps + 2) + 20;
  return c.timeout_s * waits;
}

CaseEnd share_case_end(const MpiRuntime& job, const CaseEnd& mine, double wait_limit_s) {
  const ScopedPeerTimeout limit(wait_limit_s);
  std::string text = job.is_root() ? mine.encode() : std::string();
  broadcast(job.world(), text, 0, WaitPace::patient);
  return CaseEnd::decode(text);
}

// A refused case is kept in the results file as a failed run with the reason, so a sweep's file
// says which cases were skipped and why.
RunRecord refused_record(const BenchmarkCase& c, const CasePlacement& p, const std::string& reason,
                         const MpiRuntime& ring) {
  RunRecord run;
  run.config = c.entries();
  run.world_size = p.ranks;
  run.status = "failed";
  run.error = reason;
  run.provenance = collect_provenance(ring, {});
  return run;
}

// Rank 0 alone writes the file: a refusal here (the file was replaced by something else) is no
// longer a collective one, so it must end the job (main aborts it) instead of exiting rank 0 alone.
std::string append(const std::string& file, const RunRecord& run) {
  try {
    return append_run(file, run);
  } catch (const ConfigError& e) {
    throw std::runtime_error(std::string("cannot append to the results file: ") + e.what());
  }
}

// The cases an earlier attempt of the job finished: rank 0 knows them, every rank skips them.
std::set<std::size_t> shared_earlier(const MpiRuntime& job, const SweepSettings& settings) {
  std::string text;
  for (const auto& [index, result] : settings.earlier) text += std::to_string(index) + " ";
  broadcast(job.world(), text);
  std::set<std::size_t> indices;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t used = 0;
    indices.insert(std::stoul(text.substr(pos), &used));
    pos += used + 1;
  }
  return indices;
}

}  // namespace

std::string describe_case(const BenchmarkCase& c, const CasePlacement& p) {
  const auto entries = c.entries();
  std::string text;
  for (const std::string key :
       {"seq-len", "batch", "heads", "head-dim", "mask", "layout", "kernel"})
    for (const auto& [k, v] : entries)
      if (k == key) text += (text.empty() ? "" : " ") + k + "=" + v;
  if (c.scheme != SchemeKind::ring) text += " scheme=" + c.scheme_text();
  text += " ranks=" + std::to_string(p.ranks);
  if (p.role != ScalingRole::none) text += " (" + std::string(to_string(p.role)) + ")";
  return text;
}

SweepOutcome run_sweep(const CaseOptions& options, RingPool& pool, const SweepSettings& settings,
                       SweepObserver& observer) {
  const MpiRuntime& job = pool.job();
  const bool root = job.is_root();
  const std::set<std::size_t> earlier = shared_earlier(job, settings);
  const std::size_t n = options.cases.size();
  SweepClock clock(options.cases);
  SweepOutcome out;
  for (std::size_t i = 0; i < n; ++i) {
    const BenchmarkCase& c = options.cases[i];
    const CasePlacement& p = options.placements.at(i);
    CaseResult result;
    if (earlier.count(i)) {
      if (root) result = settings.earlier.at(i);
      result.index = i;
      result.earlier = true;
    } else {
      if (root) observer.case_starting(clock, i, c, p);
      const MpiRuntime* ring = pool.ring(p.ranks);
      BenchmarkOutcome outcome;
      const CaseEnd end = share_case_end(job, run_on_ring(c, ring, outcome),
                                         ring ? c.timeout_s : case_allowance_s(c, p));
      if (end.refusal && !settings.skip_refused) throw *end.refusal;
      result.index = i;
      result.refused = end.refusal.has_value();
      result.reason = end.refusal ? end.refusal->what() : "";
      result.check_failed = end.check_failed;
      if (root) {
        result.record =
            result.refused ? refused_record(c, p, result.reason, *ring) : std::move(outcome.record);
        for (const auto& [k, v] : settings.tags) result.record.provenance[k] = v;
        result.record.provenance["sweep_case"] = std::to_string(i);
        result.record.provenance["sweep_cases"] = std::to_string(n);
        annotate_scaling(result.record, p, p.base < i ? &out.results.at(p.base) : nullptr,
                         options.placements.at(p.base).ranks);
        if (!settings.output.empty()) result.run_id = append(settings.output, result.record);
      }
    }
    if (result.earlier || result.refused)
      clock.skipped(i);  // took no time: not a basis for estimates
    else
      clock.finished(i);
    out.ran += result.refused ? 0 : 1;
    out.any_check_failed |= result.check_failed;
    out.results.push_back(std::move(result));
    if (root && !out.results.back().earlier) observer.case_done(clock, out.results.back());

    const bool stop_here = settings.stop_requested && settings.stop_requested();
    if (i + 1 < n && max_all(job.world(), stop_here ? 1 : 0, WaitPace::patient) != 0) {
      out.interrupted = true;
      break;
    }
  }
  return out;
}

}  // namespace ringbench
