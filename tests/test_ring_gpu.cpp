// GPU tests, run under mpirun with 1 and 2 ranks (one GPU each); skipped without GPUs.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "core/Error.hpp"
#include "core/PatternSpec.hpp"
#include "core/ReferenceAttention.hpp"
#include "distributed/cuda/CudaHandles.hpp"
#include "flash/BlockAttention.cuh"
#include "flash/BlockAttentionBackward.cuh"
#include "ring/BackendFactory.hpp"
#include "ring/RingAttention.hpp"
#include "ring/RingBenchmark.hpp"
#include "ring/UlyssesShape.hpp"
#include "ring/cuda/DeviceFill.cuh"
#include "ring/cuda/DevicePatternMask.hpp"
#include "ring/cuda/DevicePositions.hpp"
#include "ring/plan/RingPrediction.hpp"
#include "tests/MpiTestRuntime.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
using ringbench::test::runtime;

namespace {
BenchmarkCase gpu_case(DType dtype, std::int64_t head_dim, const std::string& mask,
                       LayoutKind layout, std::int64_t seq) {
  BenchmarkCase c;
  c.device = DeviceKind::cuda;
  c.kernel = KernelKind::flash;
  c.spec.dtype = dtype;
  c.spec.heads = 4;
  c.spec.kv_heads = 2;  // GQA
  c.spec.head_dim = head_dim;
  c.spec.seq_len = seq;
  c.spec.mask = mask;
  c.layout = layout;
  c.warmup = 1;
  c.iters = 2;
  c.check = true;
  return c;
}
std::vector<float> copy_to_host(const float* device, std::size_t count) {
  std::vector<float> host(count);
  RINGBENCH_CHECK_CUDA(
      cudaMemcpy(host.data(), device, count * sizeof(float), cudaMemcpyDeviceToHost));
  return host;
}
// Relative error of a run's dumped O against the float64 host reference on its dumped inputs
// (a check independent of every GPU kernel).
double host_reference_error(const BenchmarkCase& c, const BenchmarkOutcome& out) {
  const auto& t = out.record.tensors;
  std::vector<std::int64_t> pos(static_cast<std::size_t>(c.spec.seq_len));
  std::iota(pos.begin(), pos.end(), 0);
  const AttentionResult ref =
      reference_attention(c.spec, t[0].values, pos, t[1].values, t[2].values, pos);
  double diff2 = 0, ref2 = 0;
  for (std::size_t i = 0; i < ref.o.size(); ++i) {
    diff2 += std::pow(double(t[3].values[i]) - ref.o[i], 2);
    ref2 += std::pow(double(ref.o[i]), 2);
  }
  return std::sqrt(diff2 / ref2);
}

// Every pattern of `masks` at head dims 64 and 128, in each layout, unsharded (or on the real
// ranks) and on 4 virtual ranks, with the flash and the reference kernel: checked against the
// GPU reference.
void check_patterns(const std::vector<std::string>& masks, const std::vector<LayoutKind>& layouts,
                    std::int64_t seq) {
  const MpiRuntime& rt = runtime();
  for (std::int64_t dim : {64, 128})
    for (const std::string& mask : masks)
      for (auto layout : layouts)
        for (int virtual_ranks : {0, 4}) {
          BenchmarkCase c = gpu_case(DType::bf16, dim, mask, layout, seq);
          c.virtual_ranks = rt.size() == 1 ? virtual_ranks : 0;
          INFO("dim " << dim << " " << mask << " " << to_string(layout) << " virtual "
                      << c.virtual_ranks << " ranks " << rt.size());
          for (auto kernel : {KernelKind::flash, KernelKind::reference}) {
            c.kernel = kernel;
            const BenchmarkOutcome out = run_ring_benchmark(c, rt);
            REQUIRE(out.record.check->rel_err < c.effective_tolerance());
            REQUIRE_FALSE(out.check_failed);
          }
        }
}

// `mask` at a small size against the float64 host reference (independent of every GPU kernel).
void check_against_host(const std::string& mask) {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c = gpu_case(DType::bf16, 128, mask, LayoutKind::zigzag, 2 * rt.size() * 384);
  c.check = false;
  c.dump_tensors = true;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  if (rt.is_root()) REQUIRE(host_reference_error(c, out) < 1e-2);
}

const std::vector<LayoutKind> kAllLayouts = {LayoutKind::contiguous, LayoutKind::zigzag,
                                             LayoutKind::striped};
}  // namespace

TEST_CASE("GPU ring equals the GPU reference: dtypes, head dims, masks, layouts, GQA",
          "[gpu][ring]") {
  const MpiRuntime& rt = runtime();
  const std::int64_t seq = 2 * rt.size() * 1500;  // not a power of two; tiles with tails
  for (auto dtype : {DType::bf16, DType::fp16})
    for (std::int64_t dim : {64, 128})
      for (const std::string mask : {"none", "causal"})
        for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag}) {
          const BenchmarkCase c = gpu_case(dtype, dim, mask, layout, seq);
          INFO(to_string(dtype) << " dim " << dim << " " << mask << " " << to_string(layout)
                                << " ranks " << rt.size());
          const BenchmarkOutcome out = run_ring_benchmark(c, rt);
          REQUIRE(out.record.check->rel_err < c.effective_tolerance());
          REQUIRE(out.record.check->lse_max_abs_err < 1e-2);
          REQUIRE_FALSE(out.check_failed);
          if (rt.is_root()) REQUIRE(out.record.summary.at("median_ms") > 0);
        }
}

TEST_CASE("GPU reference kernel ring agrees too", "[gpu][ring]") {
  BenchmarkCase c =
      gpu_case(DType::bf16, 128, "causal", LayoutKind::zigzag, 2 * runtime().size() * 700);
  c.kernel = KernelKind::reference;
  REQUIRE_FALSE(run_ring_benchmark(c, runtime()).check_failed);
}

TEST_CASE("GPU ring output equals the float64 CPU reference on a small problem", "[gpu][ring]") {
  const MpiRuntime& rt = runtime();
  BenchmarkCase c = gpu_case(DType::bf16, 64, "causal", LayoutKind::zigzag, 2 * rt.size() * 96);
  c.check = false;
  c.dump_tensors = true;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  if (!rt.is_root()) return;
  REQUIRE(host_reference_error(c, out) < 1e-2);  // bf16 probabilities in P·V
}

// Sliding windows on the GPU (the kernels' band masks): every kernel variant's key ranges are
// intervals, so windows narrower and wider than a tile, causal and two-sided, on virtual rings
// (many ranks, the window crossing block edges) and against the float64 host reference.
TEST_CASE("GPU windows equal the GPU reference and the float64 host reference", "[gpu][pattern]") {
  check_patterns(
      {"window:0:0", "window:37:0", "window:200:55", "window:4095:0", "window:300:300+causal"},
      kAllLayouts, 2 * 4 * runtime().size() * 600);
  check_against_host("window:100:20");
}

// The block patterns on the GPU (mask terms and key tile lists): blocks aligned to the kernels'
// tiles and not (40, 48 tokens: partial tiles everywhere), global tokens, +causal, striped shards
// (every tile partial), virtual rings, and the float64 host reference.
TEST_CASE("GPU block patterns equal the GPU reference and the float64 host reference",
          "[gpu][pattern]") {
  check_patterns({"longformer:100:30:40", "longformer:300:0:130+causal", "bigbird:48:3:1:2",
                  "bigbird:120:3:1:3+causal", "blocksparse:40:0.3", "blocksparse:200:0.2+causal"},
                 kAllLayouts, 2 * 4 * runtime().size() * 600);  // 4800 on one rank: ragged tiles
  check_against_host("bigbird:64:3:1:2+causal");
  check_against_host("longformer:50:10:20");
}

// LongNet's dilated attention on the GPU (gathered rows, pairs merged by their LSE): several
// pairs, rates that leave heads unselected (offset h mod 8 of 4 heads), segments shorter and
// longer than a shard, +causal, GQA, virtual rings, and the float64 host reference.
TEST_CASE("GPU dilated attention equals the GPU reference and the float64 host reference",
          "[gpu][pattern]") {
  // rates far past the heads: the far steps' blocks travel as a few rows (ring/BlockTravel)
  check_patterns({"dilated:1200,2400:2,4", "dilated:400,4800:1,8+causal", "dilated:600:1",
                  "dilated:1200,4800:8,24"},
                 {LayoutKind::contiguous, LayoutKind::zigzag}, 2 * 4 * runtime().size() * 600);
  check_against_host("dilated:192,768:2,4+causal");
}

// One ring step under a mask-terms pattern, on the device: the queries of rank 1 of a 2-rank
// layout against the keys of rank 0, 4/2 heads, bf16, random inputs, and the forward's
// arguments (o_acc and lse_acc in `o` and `lse`).
struct TermsStep {
  TermsStep(LayoutKind layout_kind, std::int64_t head_dim, const std::string& mask,
            cudaStream_t stream)
      : layout(layout_kind, kSeq, 2),
        n(layout.local_len()),
        rows(static_cast<std::size_t>(4 * n)),
        kv_rows(static_cast<std::size_t>(2 * n)),
        dim(static_cast<std::size_t>(head_dim)),
        q(rows * dim * 2),
        kv(2 * kv_rows * dim * 2),
        o(rows * dim * 4),
        lse(rows * 4),
        positions(n),
        pattern_mask(make_pattern(mask, kSeq), stream) {
    spec.dtype = DType::bf16, spec.heads = 4, spec.kv_heads = 2, spec.head_dim = head_dim;
    spec.seq_len = kSeq, spec.mask = mask;
    generate_device_tensor(TensorRole::q, 7, spec, q_runs(), q.get(), stream);
    generate_device_tensor(TensorRole::k, 7, spec, kv_runs(), kv.get(), stream);
    generate_device_tensor(TensorRole::v, 7, spec, kv_runs(), v(), stream);
    positions.fill(q_runs(), n, kv_runs(), n, stream);
    forward.q = q.get(), forward.k = kv.get(), forward.v = v();
    forward.q_pos = positions.q(), forward.kv_pos = positions.kv();
    forward.o_acc = o.get<float>(), forward.lse_acc = lse.get<float>();
    forward.batch = 1, forward.heads = 4, forward.kv_heads = 2;
    forward.head_dim = static_cast<int>(head_dim);
    forward.q_len = forward.kv_len = static_cast<int>(n);
    forward.type = cuda::ElementType::bf16;
    forward.mask = cuda::MaskKind::terms;
    forward.terms = pattern_mask.terms();
    forward.tiles = pattern_mask.tiles(q_runs(), kv_runs(), kForwardTiles);
    forward.softmax_scale = static_cast<float>(spec.scale());
  }
  const std::vector<PositionRun>& q_runs() const { return layout.runs(1); }
  const std::vector<PositionRun>& kv_runs() const { return layout.runs(0); }
  void* v() const { return kv.get<char>() + kv_rows * dim * 2; }

  static constexpr std::int64_t kSeq = 4800;
  ProblemSpec spec;
  const SequenceLayout layout;
  const std::int64_t n;
  const std::size_t rows, kv_rows, dim;
  DeviceBuffer q, kv, o, lse;
  DevicePositions positions;
  DevicePatternMask pattern_mask;
  cuda::BlockAttentionArgs forward{};
};

// Every flash variant (not only the one the ring picks) under mask terms, one block step
// against the reference kernel: queries of zigzag rank 1 against the keys of rank 0.
TEST_CASE("every flash variant under mask terms equals the reference kernel", "[gpu][pattern]") {
  if (runtime().size() != 1) return;  // one device, one step
  CudaStream stream;
  for (const auto layout_kind : {LayoutKind::zigzag, LayoutKind::striped})
    for (std::int64_t dim : {64, 128})
      for (const std::string mask : {"blocksparse:40:0.3+causal", "bigbird:64:3:1:2",
                                     "longformer:100:30:40", "blocksparse:96:0.2"}) {
        INFO(mask << " dim " << dim << " " << to_string(layout_kind));
        TermsStep step(layout_kind, dim, mask, stream.get());
        const cuda::BlockAttentionArgs& a = step.forward;
        const std::size_t rows = step.rows;
        DeviceBuffer& o = step.o;
        DeviceBuffer& lse = step.lse;
        auto run = [&](auto launch) {
          fill_constant(lse.get<float>(), rows, -INFINITY, stream.get());
          launch();
          RINGBENCH_CHECK_CUDA(cudaStreamSynchronize(stream.get()));
          return std::pair{copy_to_host(o.get<float>(), rows * dim),
                           copy_to_host(lse.get<float>(), rows)};
        };
        const auto ref = run([&] { cuda::reference_attend_merge(a, stream.get()); });
        int variants = 0;
        for (int v = 0; v < cuda::flash_variant_count(); ++v) {
          if (!cuda::flash_variant_supports(v, a)) continue;
          INFO("variant " << cuda::flash_variant_name(v));
          ++variants;
          const auto got = run([&] { cuda::flash_attend_merge_variant(v, a, stream.get()); });
          double diff2 = 0, ref2 = 0, lse_err = 0;
          std::size_t empty_rows = 0;
          for (std::size_t r = 0; r < rows; ++r) {
            if (std::isinf(ref.second[r])) {
              ++empty_rows;
              REQUIRE(std::isinf(got.second[r]));
              continue;
            }
            lse_err = std::max(lse_err, double(std::abs(got.second[r] - ref.second[r])));
            for (std::size_t d = 0; d < static_cast<std::size_t>(dim); ++d) {
              diff2 += std::pow(double(got.first[r * dim + d]) - ref.first[r * dim + d], 2);
              ref2 += std::pow(double(ref.first[r * dim + d]), 2);
            }
          }
          REQUIRE(empty_rows < rows);
          REQUIRE(std::sqrt(diff2 / ref2) < 1e-2);
          REQUIRE(lse_err < 1e-2);
        }
        REQUIRE(variants >= 1);
      }
}

// Relative L2 error of got against ref.
double rel_l2(const std::vector<float>& got, const std::vector<float>& ref) {
  double diff2 = 0, ref2 = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff2 += std::pow(double(got[i]) - ref[i], 2);
    ref2 += std::pow(double(ref[i]), 2);
  }
  return std::sqrt(diff2 / std::max(ref2, 1e-30));
}

TEST_CASE("every flash backward variant under mask terms equals the reference backward kernel",
          "[gpu][backward][pattern]") {
  if (runtime().size() != 1) return;  // one device, one step
  CudaStream stream;
  for (const auto layout_kind : {LayoutKind::zigzag, LayoutKind::striped})
    for (std::int64_t dim : {64, 128})
      for (const std::string mask :
           {"blocksparse:40:0.3+causal", "bigbird:64:3:1:2", "longformer:100:30:40"}) {
        INFO(mask << " dim " << dim << " " << to_string(layout_kind));
        TermsStep step(layout_kind, dim, mask, stream.get());
        const std::size_t rows = step.rows, kv_rows = step.kv_rows;
        DeviceBuffer d_o(rows * dim * 2), delta(rows * 4), dq(rows * dim * 4),
            dk(kv_rows * dim * 4), dv(kv_rows * dim * 4);
        generate_device_tensor(TensorRole::d_o, 7, step.spec, step.q_runs(), d_o.get(),
                               stream.get());
        // The forward's LSE (-inf on rows with no allowed key), the backward's input.
        fill_constant(step.lse.get<float>(), rows, -INFINITY, stream.get());
        cuda::reference_attend_merge(step.forward, stream.get());
        fill_constant(delta.get<float>(), rows, 0.25f, stream.get());
        const cuda::BlockAttentionArgs& f = step.forward;

        cuda::BlockBackwardArgs a{};
        a.q = f.q, a.d_o = d_o.get(), a.k = f.k, a.v = f.v;
        a.lse = f.lse_acc, a.delta = delta.get<float>();
        a.q_pos = f.q_pos, a.kv_pos = f.kv_pos;
        a.dq = dq.get<float>(), a.dk = dk.get<float>(), a.dv = dv.get<float>();
        a.batch = 1, a.heads = 4, a.kv_heads = 2, a.head_dim = static_cast<int>(dim);
        a.q_len = a.kv_len = static_cast<int>(step.n);
        a.type = cuda::ElementType::bf16;
        a.mask = cuda::MaskKind::terms;
        a.terms = f.terms;
        a.tiles = step.pattern_mask.tiles(step.q_runs(), step.kv_runs(), kBackwardTiles);
        a.softmax_scale = f.softmax_scale;
        auto run = [&](auto launch) {
          fill_constant(dq.get<float>(), rows * dim, 0.f, stream.get());
          fill_constant(dk.get<float>(), kv_rows * dim, 7.f, stream.get());  // overwritten
          fill_constant(dv.get<float>(), kv_rows * dim, 7.f, stream.get());
          launch();
          RINGBENCH_CHECK_CUDA(cudaStreamSynchronize(stream.get()));
          return std::vector{copy_to_host(dq.get<float>(), rows * dim),
                             copy_to_host(dk.get<float>(), kv_rows * dim),
                             copy_to_host(dv.get<float>(), kv_rows * dim)};
        };
        const auto ref = run([&] { cuda::reference_attend_backward(a, stream.get()); });
        int variants = 0;
        for (int v = 0; v < cuda::flash_backward_variant_count(); ++v) {
          if (!cuda::flash_backward_variant_supports(v, a)) continue;
          INFO("variant " << cuda::flash_backward_variant_name(v));
          ++variants;
          const auto got = run([&] { cuda::flash_attend_backward_variant(v, a, stream.get()); });
          for (int g = 0; g < 3; ++g) {
            INFO("gradient "
                 << "qkv"[g]);
            REQUIRE(rel_l2(got[g], ref[g]) < 1e-2);
          }
        }
        REQUIRE(variants >= 1);
      }
}

TEST_CASE("striped dilated is refused on the GPU, naming the key", "[gpu][pattern]") {
  BenchmarkCase c = gpu_case(DType::bf16, 128, "dilated:1024:2", LayoutKind::striped, 4096);
  c.pass = PassKind::fwdbwd;
  REQUIRE_THROWS_AS(validate(c, runtime().size()), ConfigError);
  c.layout = LayoutKind::contiguous;
  REQUIRE_NOTHROW(validate(c, runtime().size()));
}

TEST_CASE("virtual ranks on one GPU equal the reference", "[gpu][virtual]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;
  BenchmarkCase c = gpu_case(DType::bf16, 128, "causal", LayoutKind::zigzag, 8 * 1000);
  c.virtual_ranks = 4;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  REQUIRE_FALSE(out.check_failed);
  REQUIRE(out.record.ranks.size() == 4);
  REQUIRE(out.record.summary.at("comm_ms") > 0);  // blocks really moved, by device copies
}

// Emulated members (--ring-size) on the GPU: the blocks generated on the transport's stream, the
// link a device copy; the members played compute exactly what a resident ring's members do.
TEST_CASE("emulated members equal a resident ring's on the GPU, bit for bit", "[gpu][emulated]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;  // the resident ring of 8 runs as virtual ranks
  for (const std::string mask : {"none", "causal", "window:300:0", "dilated:1024,4096:2,8"}) {
    INFO(mask);
    BenchmarkCase resident = gpu_case(DType::bf16, 128, mask, LayoutKind::zigzag, 8 * 1024);
    resident.virtual_ranks = 8;
    const SequenceLayout layout(resident.layout, resident.spec.seq_len, 8);
    const auto pattern = make_pattern(mask, resident.spec.seq_len);
    std::vector<LocalRank> ring = make_local_ranks(resident, layout, rt, pattern);
    for (auto& l : ring) l.backend->generate_inputs(resident.seed, layout.runs(l.rank));
    for (auto& l : ring) ring_attention_forward(l.schedule, *l.backend);

    BenchmarkCase emulated = resident;
    emulated.virtual_ranks = 0;
    emulated.ring_size_option = 8;
    emulated.members = "0,5";
    std::vector<LocalRank> members = make_local_ranks(emulated, layout, rt, pattern);
    REQUIRE(members.size() == 2);
    for (auto& m : members) {
      m.emulated->play(m.schedule, m.rank);  // one rank: its link is a loop
      m.backend->generate_inputs(emulated.seed, layout.runs(m.rank));
      ring_attention_forward(m.schedule, *m.backend);
      const AttentionResult got = m.backend->read_result();
      const AttentionResult want = ring[static_cast<std::size_t>(m.rank)].backend->read_result();
      REQUIRE(got.o == want.o);
      REQUIRE(got.lse == want.lse);
      // the sampled rows read alone are the same rows
      const std::vector<std::int64_t> rows{3, 700};
      const AttentionResult picked = m.backend->read_rows(rows);
      REQUIRE(picked.o == pick_rows(got, layout.local_len(), 128, rows).o);
    }
  }
  // the whole run: every member checked on sampled rows, the table's numbers emulated
  BenchmarkCase c = gpu_case(DType::bf16, 128, "window:2047:0", LayoutKind::contiguous, 64 * 1024);
  c.ring_size_option = 16;
  c.members = "all";
  c.check_rows = 32;
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  REQUIRE_FALSE(out.check_failed);
  REQUIRE(out.record.check->rel_err > 0);
  REQUIRE(out.record.summary.at("ring_size") == 16);
  REQUIRE(out.record.summary.at("comm_ms") > 0);  // the link moved the bytes
}

// The memory a run reports is the plan `ringbench plan` predicts, and its energy comes from NVML.
TEST_CASE("a GPU run holds its memory plan and measures its energy", "[gpu][memory]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;
  BenchmarkCase c = gpu_case(DType::bf16, 128, "causal", LayoutKind::zigzag, 64 * 1024);
  c.virtual_ranks = 2;
  c.check = false;
  c.iters = 200;  // over half a second: NVML's energy counter advances in coarse updates
  const BenchmarkOutcome out = run_ring_benchmark(c, rt);
  REQUIRE(out.record.summary.at("peak_mem_bytes") == rank_memory(c, 2));
  const auto energy = out.record.summary.find("energy_j");
  if (energy == out.record.summary.end()) {
    WARN("no NVML energy counter on this GPU: energy not checked");
    return;
  }
  REQUIRE(energy->second > 0);
  REQUIRE(out.record.summary.at("avg_power_w") > 10);  // a working H200 draws far more
  REQUIRE(out.record.summary.at("avg_power_w") < 2000);
  REQUIRE(out.record.summary.at("joules_per_tflop") > 0);
}

TEST_CASE("a case that does not fit in GPU memory is refused with the numbers", "[gpu][memory]") {
  BenchmarkCase c =
      gpu_case(DType::bf16, 128, "none", LayoutKind::contiguous, std::int64_t{1} << 30);
  c.spec.heads = 32;
  c.spec.kv_heads = 32;
  try {
    run_ring_benchmark(c, runtime());
    FAIL("a 1G-token, 32-head case was accepted");
  } catch (const ConfigError& e) {
    REQUIRE(std::string(e.what()).find("GPU memory") != std::string::npos);
    REQUIRE(std::string(e.what()).find("GiB") != std::string::npos);
  }
}

namespace {
std::vector<KernelKind> backward_kernels() {
#ifdef RINGBENCH_HAVE_CUDNN
  return {KernelKind::flash, KernelKind::cudnn, KernelKind::reference};
#else
  WARN("cuDNN not built: its backward kernel is not tested");
  return {KernelKind::flash, KernelKind::reference};
#endif
}

void require_gradients_within(const BenchmarkOutcome& out, double tolerance) {
  REQUIRE(out.record.check.has_value());
  REQUIRE(out.record.check->gradients.has_value());
  const GradientErrors& g = *out.record.check->gradients;
  INFO("dQ " << g.dq_rel_err << " dK " << g.dk_rel_err << " dV " << g.dv_rel_err);
  REQUIRE(g.dq_rel_err < tolerance);
  REQUIRE(g.dk_rel_err < tolerance);
  REQUIRE(g.dv_rel_err < tolerance);
  REQUIRE_FALSE(out.check_failed);
}
}  // namespace

TEST_CASE("GPU ring backward equals the float64 reference: kernels, layouts, masks, dims, GQA",
          "[gpu][backward]") {
  const MpiRuntime& rt = runtime();
  const std::int64_t seq = 2 * rt.size() * 150;  // small for the host reference; tiles with tails
  for (auto kernel : backward_kernels())
    for (std::int64_t dim : {64, 128})
      for (const std::string mask : {"none", "causal"})
        for (auto layout : {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
          // cuDNN takes rectangles only; a striped causal step is none (refused by validate)
          if (kernel == KernelKind::cudnn && layout == LayoutKind::striped && mask == "causal")
            continue;
          BenchmarkCase c = gpu_case(DType::bf16, dim, mask, layout, seq);
          c.kernel = kernel;
          c.pass = PassKind::fwdbwd;
          INFO(to_string(kernel) << " dim " << dim << " " << mask << " " << to_string(layout)
                                 << " ranks " << rt.size());
          const BenchmarkOutcome out = run_ring_benchmark(c, rt);
          require_gradients_within(out, c.effective_tolerance());
          if (rt.is_root()) REQUIRE(out.record.passes.count("backward") == 1);
        }
}

namespace {
// `mask`'s backward in each layout, unsharded (or on the real ranks) and on 4 virtual ranks, with
// the flash and the reference kernel, against the references.
void check_pattern_backward(const std::string& mask, const std::vector<LayoutKind>& layouts,
                            std::int64_t seq) {
  const MpiRuntime& rt = runtime();
  for (auto layout : layouts)
    for (int virtual_ranks : {0, 4})
      for (auto kernel : {KernelKind::flash, KernelKind::reference}) {
        BenchmarkCase c = gpu_case(DType::bf16, 128, mask, layout, seq);
        c.kernel = kernel;
        c.pass = PassKind::fwdbwd;
        c.virtual_ranks = rt.size() == 1 ? virtual_ranks : 0;
        INFO(to_string(kernel) << " " << mask << " " << to_string(layout) << " virtual "
                               << c.virtual_ranks << " ranks " << rt.size());
        require_gradients_within(run_ring_benchmark(c, rt), c.effective_tolerance());
      }
}
}  // namespace

// The sparse patterns' backward on the GPU (mask terms, per-key-block query tile lists; dilated
// pairs as gathered rows): against the float64 host reference on small rings, and the fp32 GPU
// gradient reference past its reach.
TEST_CASE("GPU backward of sparse patterns equals the references", "[gpu][backward][pattern]") {
  const MpiRuntime& rt = runtime();
  for (const std::string mask :
       {"window:90:0", "window:300:300+causal", "longformer:100:20:30", "bigbird:40:3:1:2+causal",
        "blocksparse:24:0.3", "dilated:200:1+causal"})
    check_pattern_backward(mask, kAllLayouts, 2 * 4 * rt.size() * 150);
  // dilated pairs of rate > 1 gather whole rows: shards whole in every rate, so not striped
  for (const std::string mask : {"dilated:384,1536:2,4", "dilated:192,1536:1,8+causal"})
    check_pattern_backward(mask, {LayoutKind::contiguous, LayoutKind::zigzag},
                           2 * 4 * rt.size() * 192);
  for (const std::string mask :
       {"blocksparse:104:0.2", "longformer:300:100:64+causal", "dilated:1300,5200:2,4+causal"}) {
    BenchmarkCase c = gpu_case(DType::bf16, 64, mask, LayoutKind::zigzag, 5200);
    c.pass = PassKind::fwdbwd;
    c.iters = 1;
    INFO(mask << " ranks " << rt.size());
    const BenchmarkOutcome out = run_ring_benchmark(c, rt);
    require_gradients_within(out, c.effective_tolerance());
    REQUIRE(out.record.check->gradients->dq_rel_err > 1e-5);
  }
}

TEST_CASE("GPU backward with fp16 and the bwd pass alone", "[gpu][backward]") {
  BenchmarkCase c =
      gpu_case(DType::fp16, 128, "causal", LayoutKind::zigzag, 2 * runtime().size() * 130);
  c.pass = PassKind::bwd;
  require_gradients_within(run_ring_benchmark(c, runtime()), c.effective_tolerance());
}

TEST_CASE("GPU backward on virtual ranks: gradients relayed, error does not grow with ring size",
          "[gpu][backward][virtual]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) return;
  for (auto kernel : backward_kernels()) {
    auto errors_at = [&](int ranks) {
      BenchmarkCase c = gpu_case(DType::bf16, 128, "causal", LayoutKind::zigzag, 1024);
      c.kernel = kernel;
      c.pass = PassKind::fwdbwd;
      c.virtual_ranks = ranks;
      const BenchmarkOutcome out = run_ring_benchmark(c, rt);
      require_gradients_within(out, c.effective_tolerance());
      return *out.record.check->gradients;
    };
    const GradientErrors one = errors_at(1), four = errors_at(4);
    INFO(to_string(kernel) << " dQ " << one.dq_rel_err << " -> " << four.dq_rel_err << ", dK "
                           << one.dk_rel_err << " -> " << four.dk_rel_err << ", dV "
                           << one.dv_rel_err << " -> " << four.dv_rel_err);
    REQUIRE(four.dq_rel_err <= 1.5 * one.dq_rel_err);
    REQUIRE(four.dk_rel_err <= 1.5 * one.dk_rel_err);
    REQUIRE(four.dv_rel_err <= 1.5 * one.dv_rel_err);
  }
}

TEST_CASE("GPU backward checked against the GPU reference where the host one would be slow",
          "[gpu][backward]") {
  const MpiRuntime& rt = runtime();
  // 5200² x 4 heads x 128 is past the host reference's limit: the fp32 GPU reference checks
  for (auto kernel : backward_kernels()) {
    BenchmarkCase c = gpu_case(DType::bf16, 128, "causal", LayoutKind::zigzag, 5200);
    c.kernel = kernel;
    c.pass = PassKind::fwdbwd;
    c.iters = 1;
    INFO(to_string(kernel) << " ranks " << rt.size());
    const BenchmarkOutcome out = run_ring_benchmark(c, rt);
    require_gradients_within(out, c.effective_tolerance());
    // bf16 kernels' gradients differ from the fp32 reference: a real comparison took place (the
    // reference kernel is checked against itself, so equal up to summation order)
    if (kernel != KernelKind::reference) REQUIRE(out.record.check->gradients->dq_rel_err > 1e-5);
  }
}

// The gathering schemes on the GPU: the same checks as the ring (virtual ranks on one GPU, the
// real ring's NCCL links on several), every block gathered, memory as planned, and (causal) the
// backward with only dK/dV travelling, against the GPU reference's gradients.
TEST_CASE("GPU gathering schemes equal the GPU reference", "[gpu][scheme]") {
  const MpiRuntime& rt = runtime();
  for (auto scheme : {SchemeKind::allgather, SchemeKind::allgather_pipelined})
    for (const std::string mask : {"none", "causal", "dilated:1200,4800:8,24"}) {
      BenchmarkCase c = gpu_case(DType::bf16, 128, mask, LayoutKind::zigzag, 4800 * rt.size());
      c.scheme = scheme;
      c.pass = mask == "causal" ? PassKind::fwdbwd : PassKind::fwd;  // the backward: dK/dV travel
      c.virtual_ranks = rt.size() == 1 ? 4 : 0;
      const int P = c.ring_size(rt.size());
      INFO(to_string(scheme) << " " << mask << " ranks " << P);
      const BenchmarkOutcome out = run_ring_benchmark(c, rt);
      REQUIRE(out.record.check->rel_err < c.effective_tolerance());
      REQUIRE_FALSE(out.check_failed);
      if (!rt.is_root()) continue;
      if (c.pass == PassKind::fwd)
        REQUIRE(out.record.summary.at("bytes_sent_per_rank") ==
                (P - 1) * out.record.summary.at("kv_block_bytes"));
      const RankRole role = rt.size() > 1 ? RankRole::linked : RankRole::resident;
      REQUIRE(out.record.summary.at("peak_mem_bytes") == rank_memory(c, P, role));
    }
}

// The head-sharding schemes on the virtual ranks of one GPU: Q, K, V resharded to head shards by
// device copies, the heads' rings on the GPU kernels, O, LSE and the gradients brought back,
// checked like the ring (GQA: 4 heads over 2 kv heads, replicated where a rank has one head);
// traffic equal to its formula, memory as planned. Across GPUs the schemes are refused (their
// NCCL all-to-all is not built).
TEST_CASE("GPU ulysses and hybrid equal the GPU reference on virtual ranks", "[gpu][scheme]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) {
    WARN("head-sharding schemes across GPUs are refused: checked on one GPU's virtual ranks");
    return;
  }
  const SchemeChoice schemes[] = {
      {SchemeKind::ulysses, 0, 0}, {SchemeKind::hybrid, 2, 2}, {SchemeKind::hybrid, 1, 4}};
  for (const SchemeChoice& scheme : schemes)
    for (const std::string mask : {"none", "causal", "window:300:0"})
      for (auto layout : {LayoutKind::zigzag, LayoutKind::contiguous}) {
        BenchmarkCase c = gpu_case(DType::bf16, 128, mask, layout, 4 * 1200);
        c.set_scheme(scheme);
        c.virtual_ranks = 4;
        c.pass = mask == "window:300:0" ? PassKind::fwd : PassKind::fwdbwd;
        INFO(c.scheme_text() << " " << mask << " " << to_string(layout));
        const BenchmarkOutcome out = run_ring_benchmark(c, rt);
        REQUIRE(out.record.check->rel_err < c.effective_tolerance());
        if (has_backward(c.pass)) require_gradients_within(out, c.effective_tolerance());
        REQUIRE_FALSE(out.check_failed);
        // the all-to-alls: inputs in bf16, results and gradients in fp32; a hybrid's ring moves
        // its dense blocks (bf16 K, V; fp32 dK, dV beside them in the backward, which sends the
        // last step's dK, dV on and then home)
        const UlyssesShape u = ulysses_shape(c, 4);
        const std::int64_t U = u.ranks, R = u.groups;
        const std::int64_t kv = 2 * u.rank_kv_heads * u.tokens * u.dim;
        double bytes = double((U - 1) * (2 * u.in_chunk() + 4 * u.out_chunk()) + (R - 1) * 2 * kv);
        if (has_backward(c.pass))
          bytes += double((U - 1) * (2 * u.grad_in_chunk() + 4 * u.grad_out_chunk()) +
                          (R > 1 ? (R - 1) * 2 * kv + (R + 1) * 4 * kv : 0));
        const double sent = out.record.summary.at("bytes_sent_per_rank");
        if (mask == "window:300:0")  // the ring passes on only the blocks its members read
          REQUIRE(sent <= bytes);
        else
          REQUIRE(sent == bytes);
        REQUIRE(out.record.summary.at("peak_mem_bytes") == rank_memory(c, 4));
      }
}

// The double ring on the virtual ranks of one GPU: the inner ring's and the outer ring's blocks
// as device copies on two streams of their own, the backward's accumulators relayed on both rings,
// checked like the ring for every inner ring size of 4 ranks (GQA 4 over 2), traffic equal to its
// formula (bf16 K, V; fp32 dK/dV), memory as planned. Across GPUs the scheme is refused.
TEST_CASE("GPU doublering equals the GPU reference on virtual ranks", "[gpu][scheme]") {
  const MpiRuntime& rt = runtime();
  if (rt.size() != 1) {
    WARN("doublering across GPUs is refused: checked on one GPU's virtual ranks");
    return;
  }
  for (int I : {1, 2, 4})
    for (const std::string mask : {"none", "causal", "window:300:0"})
      for (auto layout : {LayoutKind::zigzag, LayoutKind::contiguous}) {
        BenchmarkCase c = gpu_case(DType::bf16, 128, mask, layout, 4 * 1200);
        c.set_scheme({SchemeKind::doublering, I, 0});
        c.virtual_ranks = 4;
        c.pass = PassKind::fwdbwd;
        INFO(c.scheme_text() << " " << mask << " " << to_string(layout));
        const BenchmarkOutcome out = run_ring_benchmark(c, rt);
        REQUIRE(out.record.check->rel_err < c.effective_tolerance());
        require_gradients_within(out, c.effective_tolerance());
        REQUIRE_FALSE(out.check_failed);
        const double kv = out.record.summary.at("kv_block_bytes"), dkv = 2 * kv;  // fp32 vs bf16
        const int O = 4 / I;
        double bytes = 3 * kv + (O - 1) * kv + (O > 1 ? O * dkv : 0);
        if (I > 1) bytes += O * ((I - 1) * (kv + dkv) + 2 * dkv);
        REQUIRE(out.record.summary.at("bytes_sent_per_rank") == bytes);
        REQUIRE(out.record.summary.at("peak_mem_bytes") == rank_memory(c, 4));
      }
}
