#include "ring/cuda/KernelChoice.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "distributed/Collectives.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "ring/cuda/CudaBackwardKernel.hpp"
#include "ring/cuda/CudaBlockKernel.hpp"
#include "ring/cuda/DeviceFill.cuh"
#ifdef RINGBENCH_HAVE_CUDNN
#include "ring/cuda/cudnn/CudnnBackwardKernel.hpp"
#include "ring/cuda/cudnn/CudnnBlockKernel.hpp"
#endif

namespace ringbench {

namespace {

// Fastest of a few runs of `call` on `stream`, in ms (after one untimed run).
template <typename Call>
double time_runs(cudaStream_t stream, Call&& call) {
  CudaEvent begin, end;
  double best = std::numeric_limits<double>::infinity();
  for (int run = 0; run < 4; ++run) {
    begin.record(stream);
    call();
    end.record(stream);
    RINGBENCH_CHECK_CUDA(cudaEventSynchronize(end.get()));
    if (run > 0) best = std::min(best, static_cast<double>(end.since(begin)));
  }
  return best;
}

// One full block of random inputs on this GPU: the forward's q, kv, o, lse, and the backward's
// dO, D and gradients.
struct ChoiceBlock {
  ChoiceBlock(const BenchmarkCase& c, std::int64_t rows, cudaStream_t stream)
      : run{0, 0, rows, 1},
        full{&all_pairs, {&run, 1}, {&run, 1}, 0},
        q_values(static_cast<std::size_t>(c.spec.batch * c.spec.heads * rows * c.spec.head_dim)),
        kv_values(static_cast<std::size_t>(2 * c.spec.batch * c.spec.effective_kv_heads() * rows *
                                           c.spec.head_dim)),
        q(q_values * element_bytes(c.spec.dtype)),
        kv(kv_values * element_bytes(c.spec.dtype)),
        o(q_values * sizeof(float)),
        lse(static_cast<std::size_t>(c.spec.batch * c.spec.heads * rows) * sizeof(float)) {
    const std::size_t e = element_bytes(c.spec.dtype);
    generate_device_tensor(TensorRole::q, c.seed, c.spec, {&run, 1}, q.get(), stream);
    generate_device_tensor(TensorRole::k, c.seed, c.spec, {&run, 1}, kv.get(), stream);
    generate_device_tensor(TensorRole::v, c.seed, c.spec, {&run, 1},
                           kv.get<char>() + kv_values / 2 * e, stream);
  }
  // The backward's buffers, once a forward has filled o and lse.
  void add_backward(const BenchmarkCase& c, cudaStream_t stream) {
    d_o = DeviceBuffer(q_values * element_bytes(c.spec.dtype));
    delta = DeviceBuffer(lse.bytes());
    dq = DeviceBuffer(q_values * sizeof(float));
    dkv = DeviceBuffer(kv_values * sizeof(float));
    generate_device_tensor(TensorRole::d_o, c.seed, c.spec, {&run, 1}, d_o.get(), stream);
  }
  BackwardInputs backward_inputs() {
    return {q.get(), d_o.get(), o.get<float>(), lse.get<float>(), delta.get<float>()};
  }

  const PositionRun run;
  const FullPattern all_pairs;
  const BlockMask full;
  const std::size_t q_values, kv_values;
  DeviceBuffer q, kv, o, lse, d_o, delta, dq, dkv;
};

double time_forward(BlockKernel& kernel, ChoiceBlock& b, cudaStream_t stream) {
  return time_runs(stream, [&] {
    kernel.reset(b.o.get<float>(), b.lse.get<float>());
    kernel.attend(b.q.get(), b.kv.get(), b.full, b.o.get<float>(), b.lse.get<float>());
  });
}

double time_backward(BlockBackwardKernel& kernel, ChoiceBlock& b, cudaStream_t stream) {
  const BackwardInputs in = b.backward_inputs();
  kernel.prepare(in, b.dq.get<float>());
  return time_runs(stream, [&] {
    kernel.attend_backward(in, b.kv.get(), b.full, b.dq.get<float>(), b.dkv.get<float>());
  });
}

// Rank 0's pick, on every rank.
KernelKind agreed(const MpiRuntime& rt, KernelKind pick) {
  std::string name(to_string(pick));
  broadcast(rt.world(), name);
  return name == "cudnn" ? KernelKind::cudnn : KernelKind::flash;
}

}  // namespace

KernelPicks choose_fastest_kernels(const BenchmarkCase& c, std::int64_t local_len, CudnnSdpa* sdpa,
                                   bool cudnn_backward, const MpiRuntime& rt) {
  // A block large enough to run at full speed, small enough to cost little time and memory.
  const std::int64_t rows = std::min<std::int64_t>(local_len, 16384);
  CudaStream stream;
  ChoiceBlock block(c, rows, stream.get());
  KernelPicks picks;

  CudaBlockKernel flash(c.spec, KernelKind::flash, rows, stream.get());
  [[maybe_unused]] const double forward_ms = time_forward(flash, block, stream.get());
#ifdef RINGBENCH_HAVE_CUDNN
  std::shared_ptr<CudnnSdpa> shared_sdpa(sdpa, [](CudnnSdpa*) {});
  if (sdpa) {
    try {
      CudnnBlockKernel cudnn(c.spec, rows, {&block.full, 1}, shared_sdpa, stream.get());
      const double ms = time_forward(cudnn, block, stream.get());
      if (ms < forward_ms) picks.forward = KernelKind::cudnn;
    } catch (const LibraryError&) {
      // cuDNN cannot run this shape: flash it is
    }
  }
#endif
  if (has_backward(c.pass)) {
    time_forward(flash, block, stream.get());  // o and lse of the block: the backward's inputs
    block.add_backward(c, stream.get());
    CudaBackwardKernel flash_backward(c.spec, KernelKind::flash, rows, stream.get());
    [[maybe_unused]] const double backward_ms = time_backward(flash_backward, block, stream.get());
#ifdef RINGBENCH_HAVE_CUDNN
    if (sdpa && cudnn_backward) {
      try {
        CudnnBackwardKernel cudnn(c.spec, rows, {&block.full, 1}, shared_sdpa, stream.get());
        if (time_backward(cudnn, block, stream.get()) < backward_ms)
          picks.backward = KernelKind::cudnn;
      } catch (const LibraryError&) {
        // cuDNN's backward cannot run this shape: flash it is
      }
    }
#else
    (void)cudnn_backward;
#endif
  }
#ifndef RINGBENCH_HAVE_CUDNN
  (void)sdpa;
#endif
  picks.forward = agreed(rt, picks.forward);
  picks.backward = agreed(rt, picks.backward);
  return picks;
}

}  // namespace ringbench
