#include "core/ChromeTrace.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "core/JsonWriter.hpp"

namespace ringbench {

namespace {

// Index helpers for the [iterations][ranks][steps] and [ranks][steps] arrays of a RunRecord.
struct Shape {
  int iterations, ranks, steps;
  std::size_t cube(int i, int r, int s) const {
    return (static_cast<std::size_t>(i) * ranks + r) * steps + s;
  }
  std::size_t iter_rank(int i, int r) const { return static_cast<std::size_t>(i) * ranks + r; }
  std::size_t rank_step(int r, int s) const { return static_cast<std::size_t>(r) * steps + s; }
};

Shape shape_of(const RunRecord& run) {
  const Shape shape{run.iterations, run.world_size, run.steps};
  const std::size_t cube = static_cast<std::size_t>(shape.iterations) * shape.ranks * shape.steps;
  if (run.compute_ms.size() != cube || run.wait_ms.size() != cube || run.comm_ms.size() != cube ||
      run.total_ms.size() != static_cast<std::size_t>(shape.iterations) * shape.ranks)
    throw std::runtime_error(
        "trace: the run's timing arrays do not match its iterations x ranks x steps");
  return shape;
}

template <typename T>
T at_or_zero(const std::vector<T>& v, std::size_t i) {
  return i < v.size() ? v[i] : T{};
}

// Where step `s` of (iteration i, rank r) begins, relative to the iteration's start.
std::vector<double> step_begins(const RunRecord& run, const Shape& sh, int i, int r) {
  std::vector<double> begins(static_cast<std::size_t>(sh.steps) + 1, 0.0);
  for (int s = 0; s < sh.steps; ++s)
    begins[s + 1] = begins[s] + run.compute_ms[sh.cube(i, r, s)] + run.wait_ms[sh.cube(i, r, s)];
  return begins;
}

// The time (iteration i, rank r) occupies: its device-measured total, or the sum of its spans
// when that is longer (so iterations laid end to end never overlap).
double rank_iteration_ms(const RunRecord& run, const Shape& sh, int i, int r) {
  const std::vector<double> begins = step_begins(run, sh, i, r);
  double end = std::max(run.total_ms[sh.iter_rank(i, r)], begins.back());
  for (int s = 0; s < sh.steps; ++s) end = std::max(end, begins[s] + run.comm_ms[sh.cube(i, r, s)]);
  return end;
}

std::string config_value(const RunRecord& run, const std::string& key) {
  for (const auto& [k, v] : run.config)
    if (k == key) return v;
  return "";
}

std::string span_label(const RunRecord& run) {
  std::string label;
  for (const char* key : {"seq-len", "mask", "layout", "kernel", "dtype"}) {
    const std::string v = config_value(run, key);
    if (v.empty()) continue;
    if (!label.empty()) label += ' ';
    label.append(key).append("=").append(v);
  }
  return label;
}

// Colours of the legacy chrome://tracing viewer (Perfetto colours by name instead).
const char* colour_of(const TraceSpan& span) {
  if (span.name == "compute") return "thread_state_running";
  if (span.name == "wait") return "terrible";
  return "thread_state_iowait";
}

// Trace times are microseconds. Both ends of a span are rounded to whole nanoseconds (what the
// timers resolve) and the duration taken between them, so spans that abut stay abutting and the
// file holds no binary-fraction noise.
void write_times(JsonWriter& j, double begin_ms, double duration_ms) {
  const long long begin_ns = std::llround(begin_ms * 1e6),
                  end_ns = std::llround((begin_ms + duration_ms) * 1e6);
  j.key("ts")
      .value(static_cast<double>(begin_ns) / 1e3)
      .key("dur")
      .value(static_cast<double>(end_ns - begin_ns) / 1e3);
}

void write_metadata(JsonWriter& j, const char* what, int pid, int tid, const std::string& name) {
  j.newline().begin_object();
  j.key("ph").value("M").key("name").value(what).key("pid").value(pid).key("tid").value(tid);
  j.key("args").begin_object().key("name").value(name).end_object();
  j.end_object();
}

void write_sort_index(JsonWriter& j, const char* what, int pid, int tid, int index) {
  j.newline().begin_object();
  j.key("ph").value("M").key("name").value(what).key("pid").value(pid).key("tid").value(tid);
  j.key("args").begin_object().key("sort_index").value(index).end_object();
  j.end_object();
}

void write_span(JsonWriter& j, const TraceSpan& s) {
  j.newline().begin_object();
  j.key("ph").value("X").key("name").value(s.name).key("cat").value(s.name);
  j.key("pid").value(s.rank).key("tid").value(static_cast<int>(s.track));
  write_times(j, s.begin_ms, s.duration_ms);
  j.key("cname").value(colour_of(s));
  j.key("args").begin_object();
  j.key("iteration").value(s.iteration).key("step").value(s.step).key("ms").value(s.measured_ms);
  if (s.track == TraceTrack::compute && s.name == "compute") {
    j.key("flops").value(s.flops);
    j.key("tflops_per_s").value(s.measured_ms > 0 ? s.flops / (s.measured_ms * 1e-3) / 1e12 : 0.0);
  }
  if (s.track == TraceTrack::communication) {
    j.key("bytes_sent").value(s.bytes_sent).key("bytes_received").value(s.bytes_received);
    j.key("GBps").value(
        s.measured_ms > 0 ? static_cast<double>(s.bytes_sent) / (s.measured_ms * 1e-3) / 1e9 : 0.0);
  }
  j.end_object().end_object();
}

// The process above the ranks: one span per case (its configuration and summary) and one per
// iteration, so a timeline of many cases stays navigable.
void write_case_spans(JsonWriter& j, int pid, const RunRecord& run, const std::string& id,
                      double origin_ms) {
  const std::vector<double> starts = iteration_starts_ms(run);
  j.newline().begin_object();
  j.key("ph").value("X").key("name").value(span_label(run)).key("cat").value("case");
  j.key("pid").value(pid).key("tid").value(0);
  write_times(j, origin_ms, starts.back());
  j.key("args").begin_object();
  if (!id.empty()) j.key("run_id").value(id);
  j.key("world_size").value(run.world_size);
  for (const auto& [k, v] : run.config) j.key(k).value(v);
  for (const auto& [k, v] : run.summary) j.key(std::string("summary.").append(k)).value(v);
  j.end_object().end_object();
  for (int i = 0; i < run.iterations; ++i) {
    j.newline().begin_object();
    j.key("ph").value("X").key("name").value("iteration").key("cat").value("iteration");
    j.key("pid").value(pid).key("tid").value(1);
    write_times(j, origin_ms + starts[i], starts[i + 1] - starts[i]);
    j.key("args").begin_object().key("iteration").value(i).end_object();
    j.end_object();
  }
}

void write_processes(JsonWriter& j, const std::vector<RunRecord>& runs, int cases_pid) {
  write_metadata(j, "process_name", cases_pid, 0, "cases");
  write_sort_index(j, "process_sort_index", cases_pid, 0, -1);
  write_metadata(j, "thread_name", cases_pid, 0, "case");
  write_metadata(j, "thread_name", cases_pid, 1, "iterations");
  std::vector<const RankInfo*> info;  // the first run that names each rank
  for (const auto& run : runs)
    for (const auto& r : run.ranks)
      if (r.rank >= 0 && r.rank < cases_pid) {
        if (info.size() <= static_cast<std::size_t>(r.rank)) info.resize(r.rank + 1, nullptr);
        if (!info[r.rank]) info[r.rank] = &r;
      }
  for (int rank = 0; rank < cases_pid; ++rank) {
    std::string name = "rank " + std::to_string(rank);
    if (rank < static_cast<int>(info.size()) && info[rank])
      name += " (" + info[rank]->host + ", " + info[rank]->device + ")";
    write_metadata(j, "process_name", rank, 0, name);
    write_sort_index(j, "process_sort_index", rank, 0, rank);
    write_metadata(j, "thread_name", rank, 0, "compute");
    write_metadata(j, "thread_name", rank, 1, "communication");
    write_sort_index(j, "thread_sort_index", rank, 0, 0);
    write_sort_index(j, "thread_sort_index", rank, 1, 1);
  }
}

}  // namespace

std::vector<double> iteration_starts_ms(const RunRecord& run) {
  const Shape sh = shape_of(run);
  std::vector<double> starts(static_cast<std::size_t>(sh.iterations) + 1, 0.0);
  for (int i = 0; i < sh.iterations; ++i) {
    double slowest = 0;
    for (int r = 0; r < sh.ranks; ++r)
      slowest = std::max(slowest, rank_iteration_ms(run, sh, i, r));
    starts[i + 1] = starts[i] + slowest;
  }
  return starts;
}

std::vector<TraceSpan> trace_spans(const RunRecord& run, double origin_ms) {
  const Shape sh = shape_of(run);
  const std::vector<double> starts = iteration_starts_ms(run);
  std::vector<TraceSpan> spans;
  for (int i = 0; i < sh.iterations; ++i)
    for (int r = 0; r < sh.ranks; ++r) {
      const std::vector<double> begins = step_begins(run, sh, i, r);
      const double t0 = origin_ms + starts[i];
      const int from = (r + sh.ranks - 1) % sh.ranks;  // the ring's previous rank
      for (int s = 0; s < sh.steps; ++s) {
        const double compute = run.compute_ms[sh.cube(i, r, s)],
                     wait = run.wait_ms[sh.cube(i, r, s)];
        TraceSpan base;
        base.rank = r;
        base.iteration = i;
        base.step = s;
        TraceSpan c = base, w = base;
        c.name = "compute";
        c.begin_ms = t0 + begins[s];
        c.duration_ms = c.measured_ms = compute;
        c.flops = at_or_zero(run.step_flops, sh.rank_step(r, s));
        w.name = "wait";
        w.begin_ms = c.begin_ms + compute;
        w.duration_ms = w.measured_ms = wait;
        spans.push_back(c);
        spans.push_back(w);
        const long long sent = at_or_zero(run.bytes_sent, sh.rank_step(r, s));
        if (sent <= 0) continue;  // the last step passes nothing on
        TraceSpan x = base;
        x.track = TraceTrack::communication;
        x.name = "send/recv";
        x.begin_ms = c.begin_ms;
        x.measured_ms = run.comm_ms[sh.cube(i, r, s)];
        // Drawn up to the next step at most, so slices on the track never overlap; the measured
        // time stays in `measured_ms` (the transfer thread may start a moment before compute).
        x.duration_ms = std::min(x.measured_ms, begins[s + 1] - begins[s]);
        x.bytes_sent = sent;
        x.bytes_received = at_or_zero(run.bytes_sent, sh.rank_step(from, s));
        spans.push_back(x);
      }
    }
  return spans;
}

void write_trace(const std::vector<RunRecord>& runs, const std::filesystem::path& path,
                 const std::vector<std::string>& ids) {
  int ranks = 0;
  for (const auto& run : runs) ranks = std::max(ranks, run.world_size);
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write the trace file " + path.string());
  JsonWriter j(out);
  j.begin_object().key("displayTimeUnit").value("ms");
  j.key("traceEvents").begin_array();
  const int cases_pid = ranks;  // a process after the ranks, sorted above them
  write_processes(j, runs, cases_pid);
  double origin_ms = 0;
  for (std::size_t n = 0; n < runs.size(); ++n) {
    write_case_spans(j, cases_pid, runs[n], n < ids.size() ? ids[n] : "", origin_ms);
    for (const TraceSpan& s : trace_spans(runs[n], origin_ms)) write_span(j, s);
    origin_ms += iteration_starts_ms(runs[n]).back();
  }
  j.end_array().newline().end_object();
  out << '\n';
  out.close();
  if (!out) throw std::runtime_error("cannot write the trace file " + path.string());
}

void write_trace(const RunRecord& run, const std::filesystem::path& path) {
  write_trace(std::vector<RunRecord>{run}, path);
}

}  // namespace ringbench
