#include "ring/cuda/KernelChoice.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "distributed/Collectives.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/cuda/CudaBlockKernel.hpp"
#include "ring/cuda/DeviceFill.cuh"
#ifdef RINGBENCH_HAVE_CUDNN
#include "ring/cuda/cudnn/CudnnBlockKernel.hpp"
#endif

namespace ringbench {

namespace {

// Fastest of a few runs of one full block, in ms (after one untimed run).
double time_kernel(BlockKernel& kernel, const void* q, const void* kv, const BlockMask& mask,
                   float* o, float* lse, cudaStream_t stream) {
  CudaEvent begin, end;
  double best = std::numeric_limits<double>::infinity();
  for (int run = 0; run < 4; ++run) {
    kernel.reset(o, lse);
    begin.record(stream);
    kernel.attend(q, kv, mask, o, lse);
    end.record(stream);
    RINGBENCH_CHECK_CUDA(cudaEventSynchronize(end.get()));
    if (run > 0) best = std::min(best, static_cast<double>(end.since(begin)));
  }
  return best;
}

}  // namespace

KernelKind choose_fastest_kernel(const BenchmarkCase& c, std::int64_t local_len, CudnnSdpa* sdpa,
                                 const MpiRuntime& rt) {
  // A block large enough to run at full speed, small enough to cost little time and memory.
  const std::int64_t rows = std::min<std::int64_t>(local_len, 16384);
  const ProblemSpec& s = c.spec;
  const std::size_t e = element_bytes(s.dtype);
  const auto q_values = static_cast<std::size_t>(s.batch * s.heads * rows * s.head_dim);
  const auto kv_values =
      static_cast<std::size_t>(2 * s.batch * s.effective_kv_heads() * rows * s.head_dim);
  CudaStream stream;
  DeviceBuffer q(q_values * e), kv(kv_values * e), o(q_values * sizeof(float)),
      lse(static_cast<std::size_t>(s.batch * s.heads * rows) * sizeof(float));
  const PositionRun run{0, 0, rows, 1};
  generate_device_tensor(TensorRole::q, c.seed, s, {&run, 1}, q.get(), stream.get());
  generate_device_tensor(TensorRole::k, c.seed, s, {&run, 1}, kv.get(), stream.get());
  generate_device_tensor(TensorRole::v, c.seed, s, {&run, 1}, kv.get<char>() + kv_values / 2 * e,
                         stream.get());
  const FullPattern all_pairs;
  const BlockMask full{&all_pairs, {&run, 1}, {&run, 1}, 0};

  KernelKind best = KernelKind::flash;
  CudaBlockKernel flash(s, KernelKind::flash, rows, stream.get());
  double best_ms =
      time_kernel(flash, q.get(), kv.get(), full, o.get<float>(), lse.get<float>(), stream.get());
#ifdef RINGBENCH_HAVE_CUDNN
  if (sdpa) {
    try {
      CudnnBlockKernel cudnn(s, rows, {&full, 1},
                             std::shared_ptr<CudnnSdpa>(sdpa, [](CudnnSdpa*) {}), stream.get());
      const double ms = time_kernel(cudnn, q.get(), kv.get(), full, o.get<float>(),
                                    lse.get<float>(), stream.get());
      if (ms < best_ms) best = KernelKind::cudnn, best_ms = ms;
    } catch (const LibraryError&) {
      // cuDNN cannot run this shape: flash it is
    }
  }
#else
  (void)sdpa;
#endif
  std::string pick(to_string(best));
  broadcast(rt.world(), pick);  // every rank runs rank 0's choice
  return pick == "cudnn" ? KernelKind::cudnn : KernelKind::flash;
}

}  // namespace ringbench
