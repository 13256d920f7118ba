// Standalone check and benchmark of the block-attention backward kernels.
//
//   flash_backward_check          correctness: every flash variant against the fp32 GPU
//                                 reference (and, on small shapes, the reference against an
//                                 fp64 CPU computation) over masks, position layouts, GQA, odd
//                                 lengths and dq accumulation; exit 1 when an error exceeds 2e-2.
//   flash_backward_check --bench  ms and TFLOP/s of each variant at B=1, H=32, D=128, q_len =
//   kv_len = 16384,
//                                 bf16, non-causal and causal (backward FLOPs = 2.5 x forward,
//                                 forward = 4 B H Sq Sk D times the allowed fraction), then D=64,
//                                 and one timed reference call at 4K.
// LSE and O come from the forward reference (reference_attend_merge on this block alone) and
// D = rowsum(dO ∘ O) from a small kernel here, so the inputs are mutually consistent.
#include "flash/BlockAttention.cuh"
#include "flash/BlockAttentionBackward.cuh"
#include "flash/CheckSupport.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ringbench::cuda;
using namespace ringbench::cuda::check;  // CheckSupport.cuh

namespace {

constexpr double kTolerance = 2e-2;  // relative Frobenius error of dq, dk, dv
constexpr double kCpuTolerance = 1e-4;

template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    FLASH_CUDA_CHECK(cudaMalloc(&ptr_, std::max<size_t>(n, 1) * sizeof(T)));
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  ~DeviceArray() { cudaFree(ptr_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return ptr_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    FLASH_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    FLASH_CUDA_CHECK(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* ptr_ = nullptr;
  size_t n_;
};

__global__ void fill_floats(float* dst, size_t n, uint64_t seed, float amp) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    dst[i] = amp * uniform_pm1(seed, i);
}

__device__ float element_to_float(uint16_t bits, bool bf16) {
  return bf16 ? __bfloat162float(__ushort_as_bfloat16(bits)) : __half2float(__ushort_as_half(bits));
}

// D = rowsum(dO ∘ O): one warp per row.
__global__ void row_delta(const uint16_t* d_o, const float* o, float* delta, size_t rows, int D,
                          bool bf16) {
  const size_t row = (blockIdx.x * size_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float sum = 0.f;
  for (int d = lane; d < D; d += 32)
    sum += element_to_float(d_o[row * D + d], bf16) * o[row * D + d];
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) delta[row] = sum;
}

void fill_random(DeviceArray<uint16_t>& a, uint64_t seed, float amp, ElementType type) {
  fill_elements<<<1024, 256>>>(a.get(), a.size(), seed, amp, type == ElementType::bf16);
  FLASH_CUDA_CHECK(cudaGetLastError());
}

// ------------------------------------------------------------------------------------------
// Problem setup shared by the check and the benchmark
// ------------------------------------------------------------------------------------------

struct Problem {
  int batch, heads, kv_heads, head_dim, q_len, kv_len;
  ElementType type;
  MaskKind mask;
  DeviceArray<uint16_t> q, d_o, k, v;
  DeviceArray<int32_t> q_pos, kv_pos;
  DeviceArray<float> o, lse, delta;

  Problem(int B, int H, int KVH, int D, const std::vector<int32_t>& qp,
          const std::vector<int32_t>& kp, ElementType t, MaskKind m, uint64_t seed, float amp,
          bool flash_forward)
      : batch(B),
        heads(H),
        kv_heads(KVH),
        head_dim(D),
        q_len(int(qp.size())),
        kv_len(int(kp.size())),
        type(t),
        mask(m),
        q(size_t(B) * H * qp.size() * D),
        d_o(q.size()),
        k(size_t(B) * KVH * kp.size() * D),
        v(k.size()),
        q_pos(qp),
        kv_pos(kp),
        o(q.size()),
        lse(size_t(B) * H * qp.size()),
        delta(lse.size()) {
    fill_random(q, seed, amp, t);
    fill_random(k, seed + 1, amp, t);
    fill_random(v, seed + 2, 1.f, t);
    fill_random(d_o, seed + 3, 1.f, t);
    // The forward of this block alone gives O and the final LSE (-inf for rows that see none
    // of the keys; their O stays 0 and so does D).
    FLASH_CUDA_CHECK(cudaMemset(o.get(), 0, o.size() * sizeof(float)));
    lse.upload(std::vector<float>(lse.size(), -INFINITY));
    BlockAttentionArgs f{};
    f.q = q.get();
    f.k = k.get();
    f.v = v.get();
    f.q_pos = q_pos.get();
    f.kv_pos = kv_pos.get();
    f.o_acc = o.get();
    f.lse_acc = lse.get();
    f.batch = B;
    f.heads = H;
    f.kv_heads = KVH;
    f.head_dim = D;
    f.q_len = q_len;
    f.kv_len = kv_len;
    f.type = t;
    f.mask = m;
    f.softmax_scale = scale();
    if (flash_forward && flash_supports(f))
      flash_attend_merge(f, nullptr);
    else
      reference_attend_merge(f, nullptr);
    const size_t rows = lse.size();
    row_delta<<<unsigned((rows * 32 + 255) / 256), 256>>>(d_o.get(), o.get(), delta.get(), rows, D,
                                                          t == ElementType::bf16);
    FLASH_CUDA_CHECK(cudaGetLastError());
    FLASH_CUDA_CHECK(cudaDeviceSynchronize());
  }

  float scale() const { return 1.f / std::sqrt(float(head_dim)); }

  BlockBackwardArgs args(float* dq, float* dk, float* dv) const {
    BlockBackwardArgs a{};
    a.q = q.get();
    a.d_o = d_o.get();
    a.k = k.get();
    a.v = v.get();
    a.lse = lse.get();
    a.delta = delta.get();
    a.q_pos = q_pos.get();
    a.kv_pos = kv_pos.get();
    a.dq = dq;
    a.dk = dk;
    a.dv = dv;
    a.batch = batch;
    a.heads = heads;
    a.kv_heads = kv_heads;
    a.head_dim = head_dim;
    a.q_len = q_len;
    a.kv_len = kv_len;
    a.type = type;
    a.mask = mask;
    a.softmax_scale = scale();
    return a;
  }
};

// ------------------------------------------------------------------------------------------
// Check
// ------------------------------------------------------------------------------------------

struct Case {
  std::string name;
  int batch, heads, kv_heads, head_dim;
  ElementType type;
  MaskKind mask;
  std::vector<int32_t> q_pos, kv_pos;
  float amp = 1.7f;
  bool cpu_check = false;
};

std::vector<Case> make_cases() {
  const auto bf16 = ElementType::bf16, fp16 = ElementType::fp16;
  const auto none = MaskKind::none, causal = MaskKind::causal;
  std::vector<Case> c;
  // Small shapes: the GPU reference is also checked against fp64 on the CPU.
  c.push_back({"small dense gqa", 1, 4, 2, 64, bf16, none, run(0, 70), run(0, 90), 1.7f, true});
  c.push_back(
      {"small causal tail keys", 2, 2, 1, 128, fp16, causal, run(0, 100), run(0, 130), 1.7f, true});
  c.push_back(
      {"small zigzag", 1, 2, 2, 64, bf16, causal, zigzag(1, 4, 40), zigzag(2, 4, 40), 3.f, true});
  // Contiguous positions, equal and offset ranges.
  c.push_back({"dense equal 1024", 1, 4, 4, 128, bf16, none, run(0, 1024), run(0, 1024)});
  c.push_back({"dense equal 1024 d64", 1, 4, 4, 64, fp16, none, run(0, 1024), run(0, 1024)});
  c.push_back({"causal equal 1024", 1, 4, 4, 128, fp16, causal, run(0, 1024), run(0, 1024)});
  c.push_back({"causal equal 1024 d64", 1, 4, 4, 64, bf16, causal, run(0, 1024), run(0, 1024)});
  c.push_back({"causal keys after queries (all masked)", 1, 4, 2, 128, bf16, causal, run(0, 500),
               run(1000, 600)});
  c.push_back(
      {"causal keys after queries d64", 1, 2, 2, 64, fp16, causal, run(0, 300), run(300, 257)});
  c.push_back({"causal keys before queries (all allowed)", 1, 4, 4, 64, bf16, causal,
               run(1000, 700), run(0, 640)});
  c.push_back(
      {"causal overlapping offset", 1, 4, 4, 128, fp16, causal, run(300, 900), run(0, 1000)});
  // Ring layouts.
  c.push_back({"zigzag 1 vs 2", 1, 4, 4, 128, bf16, causal, zigzag(1, 4, 700), zigzag(2, 4, 700)});
  c.push_back({"zigzag 2 vs 0", 1, 4, 1, 64, fp16, causal, zigzag(2, 4, 513), zigzag(0, 4, 513)});
  c.push_back({"striped stride 4", 1, 4, 4, 64, fp16, causal, run(1, 2048, 4), run(3, 2048, 4)});
  c.push_back({"striped stride 8", 1, 4, 2, 128, bf16, causal, run(5, 1500, 8), run(2, 1500, 8)});
  // GQA.
  c.push_back({"gqa 8/2 causal", 2, 8, 2, 128, bf16, causal, run(0, 1024), run(0, 1024)});
  c.push_back({"gqa 8/2 dense", 1, 8, 2, 64, fp16, none, run(0, 768), run(0, 1280)});
  // Odd lengths.
  c.push_back({"odd 1000x777 dense", 1, 4, 4, 64, bf16, none, run(0, 1000), run(0, 777)});
  c.push_back({"odd 1000x777 dense d128", 1, 4, 2, 128, fp16, none, run(0, 1000), run(0, 777)});
  c.push_back({"odd 1000x777 causal", 1, 4, 4, 128, bf16, causal, run(0, 1000), run(0, 777)});
  c.push_back(
      {"odd 1000x777 causal offset", 1, 4, 4, 64, fp16, causal, run(0, 1000), run(223, 777)});
  c.push_back({"causal 4096 sharp", 1, 4, 4, 128, bf16, causal, run(0, 4096), run(0, 4096), 3.f});
  return c;
}

// fp64 on the CPU from the same 16-bit inputs and the same LSE/D: the dq contribution, dk, dv.
struct Grads {
  std::vector<double> dq, dk, dv;
};

Grads cpu_backward(const Problem& pb) {
  const int D = pb.head_dim, Sq = pb.q_len, Sk = pb.kv_len, group = pb.heads / pb.kv_heads;
  const auto q = pb.q.download(), d_o = pb.d_o.download(), k = pb.k.download(), v = pb.v.download();
  const auto lse = pb.lse.download(), delta = pb.delta.download();
  const auto qp = pb.q_pos.download(), kp = pb.kv_pos.download();
  Grads g{std::vector<double>(q.size()), std::vector<double>(k.size()),
          std::vector<double>(k.size())};
  const double scale = pb.scale();
  for (int b = 0; b < pb.batch; ++b)
    for (int h = 0; h < pb.heads; ++h)
      for (int i = 0; i < Sq; ++i) {
        const size_t row = (size_t(b) * pb.heads + h) * Sq + i;
        if (std::isinf(lse[row])) continue;
        for (int j = 0; j < Sk; ++j) {
          if (pb.mask == MaskKind::causal && kp[j] > qp[i]) continue;
          const size_t kr = (size_t(b) * pb.kv_heads + h / group) * Sk + j;
          double s = 0, dp = 0;
          for (int d = 0; d < D; ++d) {
            s += double(to_float(q[row * D + d], pb.type)) * to_float(k[kr * D + d], pb.type);
            dp += double(to_float(d_o[row * D + d], pb.type)) * to_float(v[kr * D + d], pb.type);
          }
          const double p = std::exp(scale * s - lse[row]);
          const double ds = p * (dp - delta[row]);
          for (int d = 0; d < D; ++d) {
            g.dq[row * D + d] += scale * ds * to_float(k[kr * D + d], pb.type);
            g.dk[kr * D + d] += scale * ds * to_float(q[row * D + d], pb.type);
            g.dv[kr * D + d] += p * to_float(d_o[row * D + d], pb.type);
          }
        }
      }
  return g;
}

struct Error {
  double rel = 0;
  size_t nonfinite = 0;
};

// Relative Frobenius error of got (minus base, when given) against want.
template <typename W>
Error rel_error(const std::vector<float>& got, const std::vector<float>* base,
                const std::vector<W>& want, double want_factor = 1.0) {
  Error e;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) {
      ++e.nonfinite;
      continue;
    }
    const double g = double(got[i]) - (base ? double((*base)[i]) : 0.0);
    const double w = double(want[i]) * want_factor;
    diff += (g - w) * (g - w);
    norm += w * w;
  }
  e.rel = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  return e;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

// Keys no query may attend must be exactly 0 in dk/dv; rows that attend nothing keep dq's bits.
size_t exactness_violations(const Problem& pb, const std::vector<float>& dq,
                            const std::vector<float>& dq_init, const std::vector<float>& dk,
                            const std::vector<float>& dv) {
  const auto qp = pb.q_pos.download(), kp = pb.kv_pos.download();
  const int D = pb.head_dim;
  const bool causal = pb.mask == MaskKind::causal;
  size_t bad = 0;
  for (size_t r = 0; r < dk.size() / D; ++r) {
    const int j = int(r % pb.kv_len);
    if (!(causal && kp[j] > qp.back())) continue;
    for (int d = 0; d < D; ++d) bad += dk[r * D + d] != 0.f || dv[r * D + d] != 0.f;
  }
  for (size_t r = 0; r < dq.size() / D; ++r) {
    const int i = int(r % pb.q_len);
    if (!(causal && kp.front() > qp[i])) continue;
    for (int d = 0; d < D; ++d) bad += !same_bits(dq[r * D + d], dq_init[r * D + d]);
  }
  return bad;
}

bool report(const char* who, const Error& dq, const Error& dk, const Error& dv, size_t exact,
            double tol) {
  const bool ok = dq.rel <= tol && dk.rel <= tol && dv.rel <= tol && exact == 0 &&
                  dq.nonfinite + dk.nonfinite + dv.nonfinite == 0;
  std::printf(
      "    %-34s dq rel %.2e | dk rel %.2e | dv rel %.2e | non-finite %zu | exact-zero "
      "violations %zu  %s\n",
      who, dq.rel, dk.rel, dv.rel, dq.nonfinite + dk.nonfinite + dv.nonfinite, exact,
      ok ? "ok" : "FAIL");
  return ok;
}

bool run_case(const Case& c, uint64_t seed) {
  const Problem pb(c.batch, c.heads, c.kv_heads, c.head_dim, c.q_pos, c.kv_pos, c.type, c.mask,
                   seed, c.amp, false);
  std::printf("case '%s': %s B=%d H=%d KVH=%d D=%d q=%d kv=%d mask=%s\n", c.name.c_str(),
              type_name(c.type), c.batch, c.heads, c.kv_heads, c.head_dim, pb.q_len, pb.kv_len,
              mask_name(c.mask));
  const size_t dq_n = pb.q.size(), dkv_n = pb.k.size();
  DeviceArray<float> dq_init(dq_n), dq(dq_n), dk(dkv_n), dv(dkv_n);
  fill_floats<<<256, 256>>>(dq_init.get(), dq_n, seed + 10, 0.25f);
  FLASH_CUDA_CHECK(cudaGetLastError());
  const std::vector<float> init = dq_init.download();
  // dk/dv start as NaN: the kernels must overwrite every element.
  const std::vector<float> nan_fill(dkv_n, NAN);

  auto run_backward = [&](auto&& backward, int calls) {
    dq.upload(init);
    dk.upload(nan_fill);
    dv.upload(nan_fill);
    for (int i = 0; i < calls; ++i) backward(pb.args(dq.get(), dk.get(), dv.get()));
    FLASH_CUDA_CHECK(cudaDeviceSynchronize());
  };

  bool ok = true;
  run_backward([](const BlockBackwardArgs& a) { reference_attend_backward(a, nullptr); }, 1);
  const auto ref_dq = dq.download(), ref_dk = dk.download(), ref_dv = dv.download();
  std::vector<float> ref_dq_contrib(dq_n);
  for (size_t i = 0; i < dq_n; ++i) ref_dq_contrib[i] = ref_dq[i] - init[i];
  const size_t ref_exact = exactness_violations(pb, ref_dq, init, ref_dk, ref_dv);

  if (c.cpu_check) {
    const Grads cpu = cpu_backward(pb);
    ok &= report("gpu reference vs fp64 cpu", rel_error(ref_dq, &init, cpu.dq),
                 rel_error(ref_dk, nullptr, cpu.dk), rel_error(ref_dv, nullptr, cpu.dv), ref_exact,
                 kCpuTolerance);
  } else if (ref_exact != 0) {
    std::printf("    gpu reference: %zu exact-zero violations  FAIL\n", ref_exact);
    ok = false;
  }

  const BlockBackwardArgs probe = pb.args(dq.get(), dk.get(), dv.get());
  if (!flash_backward_supports(probe)) {
    std::printf("    flash: unsupported  FAIL\n");
    return false;
  }
  for (int variant = 0; variant < flash_backward_variant_count(); ++variant) {
    if (!flash_backward_variant_supports(variant, probe)) continue;
    const bool is_default = variant == flash_backward_default_variant(probe);
    std::printf("    %s%s\n", flash_backward_variant_name(variant), is_default ? " [default]" : "");
    for (int calls = 1; calls <= 2; ++calls) {
      run_backward(
          [&](const BlockBackwardArgs& a) { flash_attend_backward_variant(variant, a, nullptr); },
          calls);
      const auto got_dq = dq.download(), got_dk = dk.download(), got_dv = dv.download();
      const size_t exact = calls == 1 ? exactness_violations(pb, got_dq, init, got_dk, got_dv) : 0;
      ok &= report(calls == 1 ? "  flash vs reference" : "  flash x2 (dq accumulates twice)",
                   rel_error(got_dq, &init, ref_dq_contrib, double(calls)),
                   rel_error(got_dk, nullptr, ref_dk), rel_error(got_dv, nullptr, ref_dv), exact,
                   kTolerance);
    }
  }
  return ok;
}

// ------------------------------------------------------------------------------------------
// Benchmark
// ------------------------------------------------------------------------------------------

template <typename F>
double median_ms(F&& call, int warmup, int iters) {
  cudaEvent_t start, stop;
  FLASH_CUDA_CHECK(cudaEventCreate(&start));
  FLASH_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < warmup; ++i) call();
  std::vector<float> times;
  for (int i = 0; i < iters; ++i) {
    FLASH_CUDA_CHECK(cudaEventRecord(start));
    call();
    FLASH_CUDA_CHECK(cudaEventRecord(stop));
    FLASH_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    FLASH_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  FLASH_CUDA_CHECK(cudaEventDestroy(start));
  FLASH_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double backward_flops(int B, int H, int Sq, int Sk, int D, MaskKind mask) {
  const double allowed = mask == MaskKind::causal ? (Sk + 1.0) / (2.0 * Sk) : 1.0;
  return 2.5 * 4.0 * B * H * double(Sq) * Sk * D * allowed;
}

void bench_flash(int H, int D, int S, ElementType type) {
  const int B = 1;
  constexpr int kWarmup = 3, kIters = 15;
  std::printf(
      "flash_attend_backward B=%d H=%d D=%d q_len=kv_len=%d %s, median of %d runs after "
      "%d warm-ups\n",
      B, H, D, S, type_name(type), kIters, kWarmup);
  for (const MaskKind mask : {MaskKind::none, MaskKind::causal}) {
    const Problem pb(B, H, H, D, run(0, S), run(0, S), type, mask, 77, 1.7f, true);
    DeviceArray<float> dq(pb.q.size()), dk(pb.k.size()), dv(pb.k.size());
    FLASH_CUDA_CHECK(cudaMemset(dq.get(), 0, dq.size() * sizeof(float)));
    const BlockBackwardArgs a = pb.args(dq.get(), dk.get(), dv.get());
    for (int variant = 0; variant < flash_backward_variant_count(); ++variant) {
      if (!flash_backward_variant_supports(variant, a)) continue;
      const double ms =
          median_ms([&] { flash_attend_backward_variant(variant, a, nullptr); }, kWarmup, kIters);
      std::printf("  mask=%-6s %-48s %8.3f ms %7.1f TFLOP/s%s\n", mask_name(mask),
                  flash_backward_variant_name(variant), ms,
                  backward_flops(B, H, S, S, D, mask) / (ms * 1e-3) / 1e12,
                  variant == flash_backward_default_variant(a) ? "  [default]" : "");
    }
  }
}

void bench_reference() {
  const int B = 1, H = 32, D = 128, S = 4096;
  const Problem pb(B, H, H, D, run(0, S), run(0, S), ElementType::bf16, MaskKind::none, 78, 1.7f,
                   true);
  DeviceArray<float> dq(pb.q.size()), dk(pb.k.size()), dv(pb.k.size());
  FLASH_CUDA_CHECK(cudaMemset(dq.get(), 0, dq.size() * sizeof(float)));
  const BlockBackwardArgs a = pb.args(dq.get(), dk.get(), dv.get());
  const double ms = median_ms([&] { reference_attend_backward(a, nullptr); }, 0, 1);
  std::printf(
      "reference_attend_backward B=%d H=%d D=%d q_len=kv_len=%d bf16 mask=none: %.1f ms "
      "(%.2f TFLOP/s, one run)\n",
      B, H, D, S, ms, backward_flops(B, H, S, S, D, MaskKind::none) / (ms * 1e-3) / 1e12);
}

int bench() {
  cudaDeviceProp prop{};
  FLASH_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("bench on %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
  bench_flash(32, 128, 16384, ElementType::bf16);  // the reference configuration
  bench_flash(32, 64, 16384, ElementType::bf16);
  bench_reference();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
      std::printf("SKIP: no GPU\n");
      return 77;
    }
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--bench") return bench();
    if (!mode.empty()) {
      std::fprintf(stderr, "usage: %s [--bench]\n", argv[0]);
      return 2;
    }
    bool ok = true;
    uint64_t seed = 4321;
    for (const Case& c : make_cases()) ok &= run_case(c, seed += 1000);
    std::printf("%s\n", ok ? "ALL CHECKS PASSED" : "SOME CHECKS FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
