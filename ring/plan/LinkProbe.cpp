#include "ring/plan/LinkProbe.hpp"

#include <algorithm>

#include "core/PatternSpec.hpp"
#include "core/Statistics.hpp"
#include "distributed/Collectives.hpp"
#include "ring/BackendFactory.hpp"

namespace ringbench {

namespace {

// One exchange of `bytes` on every local rank, as a ring step does it: all start, then all wait.
void exchange(std::vector<LocalRank>& locals, std::size_t bytes) {
  for (auto& l : locals) {
    const RankBuffers& b = l.backend->buffers();
    l.backend->transport().start_exchange(b.kv_local, b.kv_recv[0], bytes);
  }
  for (auto& l : locals) l.backend->transport().wait_exchange();
  for (auto& l : locals) l.backend->synchronize();
}

}  // namespace

std::vector<LinkSample> probe_links(const BenchmarkCase& c, const MpiRuntime& rt,
                                    const std::vector<std::size_t>& sizes, int repeats) {
  const SequenceLayout layout(c.layout, c.spec.seq_len, c.ring_size(rt.size()));
  std::vector<LocalRank> locals =
      make_local_ranks(c, layout, rt, make_pattern(c.spec.mask, c.spec.seq_len));
  for (auto& l : locals) l.backend->generate_inputs(c.seed, layout.runs(l.rank));
  const std::string link = link_of(c, rt.size());
  std::vector<LinkSample> samples;
  for (const std::size_t bytes : sizes) {
    if (bytes > locals.front().backend->buffers().kv_bytes) break;
    std::vector<double> ms;
    for (int i = 0; i < repeats + 2; ++i) {
      barrier(rt.world());  // every exchange starts together, as ring steps do
      exchange(locals, bytes);
      const std::vector<double> t = locals.front().backend->transport().take_comm_ms();
      for (auto& l : locals) l.backend->transport().take_comm_ms();
      if (i >= 2 && !t.empty()) ms.push_back(t.back());
    }
    // the slowest rank's median: a ring step waits for its slowest link
    const double median = max_all(rt.world(), percentile(ms, 0.5));
    samples.push_back({link, static_cast<double>(bytes), median});
  }
  return samples;
}

}  // namespace ringbench
