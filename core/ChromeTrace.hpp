// A Chrome-trace / Perfetto timeline of benchmark runs, rebuilt from the per-step durations a run
// records, so the hot loop stays untouched: one process per rank, one track per stream (compute,
// communication), every step's compute, wait and send/receive as spans carrying FLOPs and bytes.
//
// How the spans are placed (the order RingAttention executes them in): on the compute stream the
// steps run back to back, step t's compute beginning where step t-1's wait ended; the wait
// follows the compute; step t's transfer is launched just before its compute and so starts with
// it. Every iteration starts together on all ranks (a barrier precedes it), and iterations are
// laid end to end, each as long as its slowest rank. Open the file at https://ui.perfetto.dev or
// chrome://tracing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/RunRecord.hpp"

namespace ringbench {

enum class TraceTrack { compute = 0, communication = 1 };

struct TraceSpan {
  int rank = 0;
  TraceTrack track = TraceTrack::compute;
  std::string name;  // "compute", "wait" or "send/recv"
  int iteration = 0;
  int step = 0;
  double begin_ms = 0;     // from the start of the trace
  double duration_ms = 0;  // as drawn; the measured duration is in `measured_ms`
  double measured_ms = 0;
  double flops = 0;              // compute: the work of this step
  long long bytes_sent = 0;      // send/recv: the block passed on to rank + 1
  long long bytes_received = 0;  // send/recv: the block arriving from rank - 1
};

// Iteration i of `run` occupies [iteration_begin_ms[i], iteration_begin_ms[i + 1]) relative to
// the run's first iteration; the last entry is the run's length on the timeline.
std::vector<double> iteration_starts_ms(const RunRecord& run);

// Every span of `run`, its first iteration starting at `origin_ms`.
std::vector<TraceSpan> trace_spans(const RunRecord& run, double origin_ms = 0);

// Writes one timeline holding `runs` one after another; `ids` (optional, one per run) are the
// run ids of the results file, shown on the case spans. Throws std::runtime_error when the file
// cannot be written.
void write_trace(const std::vector<RunRecord>& runs, const std::filesystem::path& path,
                 const std::vector<std::string>& ids = {});
void write_trace(const RunRecord& run, const std::filesystem::path& path);

}  // namespace ringbench
