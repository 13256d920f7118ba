// Standalone check and benchmark of the block-attention kernels.
//
//   flash_kernel_check           correctness: every flash variant against the fp32 GPU
//                                reference (and, on small shapes, both against an fp64 CPU
//                                reference); exits 1 when an error exceeds its tolerance.
//   flash_kernel_check --small   only the small shapes (quick; for compute-sanitizer).
//   flash_kernel_check --bench   TFLOP/s of each variant at B=1, H=32, D=128,
//                                q_len = kv_len = 16384, bf16, non-causal and causal
//                                (FLOPs = 4 B H Sq Sk D times the allowed fraction); then
//                                the default variant in fp16, every variant at 64K, and the
//                                D=64 variants at H=8, 16K and 64K.
//   flash_kernel_check --bench-ref  one timed fp32 reference call at 64K x 64K (H=8, D=128).
#include "flash/BlockAttention.cuh"
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

// ------------------------------------------------------------------------------------------
// Device buffers and random data
// ------------------------------------------------------------------------------------------

template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    FLASH_CUDA_CHECK(cudaMalloc(&ptr_, std::max<size_t>(n, 1) * sizeof(T)));
  }
  DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  ~DeviceArray() { cudaFree(ptr_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : ptr_(o.ptr_), n_(o.n_) { o.ptr_ = nullptr; }

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
  void copy_from(const DeviceArray& o) {
    FLASH_CUDA_CHECK(cudaMemcpy(ptr_, o.ptr_, n_ * sizeof(T), cudaMemcpyDeviceToDevice));
  }

 private:
  T* ptr_ = nullptr;
  size_t n_;
};

// Running state: every third row empty (lse = -inf, o = NaN, which must be ignored), the
// others a random normalized output with an LSE of the same size as a block's.
__global__ void fill_state(float* o, float* lse, size_t rows, int D, uint64_t seed,
                           float lse_center) {
  for (size_t row = blockIdx.x * size_t(blockDim.x) + threadIdx.x; row < rows;
       row += size_t(gridDim.x) * blockDim.x) {
    const bool empty = mix64(seed ^ row) % 3 == 0;
    lse[row] = empty ? -INFINITY : lse_center + 2.f * uniform_pm1(seed + 1, row);
    for (int d = 0; d < D; ++d) o[row * D + d] = empty ? NAN : uniform_pm1(seed + 2, row * D + d);
  }
}

void fill_random(DeviceArray<uint16_t>& a, uint64_t seed, float amp, ElementType type) {
  fill_elements<<<1024, 256>>>(a.get(), a.size(), seed, amp, type == ElementType::bf16);
  FLASH_CUDA_CHECK(cudaGetLastError());
}

// ------------------------------------------------------------------------------------------
// Test cases
// ------------------------------------------------------------------------------------------

struct KvBlock {
  std::vector<int32_t> pos;  // kv_len = pos.size()
};

struct Case {
  std::string name;
  int batch, heads, kv_heads, head_dim;
  ElementType type;
  MaskKind mask;
  std::vector<int32_t> q_pos;
  std::vector<KvBlock> blocks;  // merged one after another into the same running state
  float amp = 1.7f;             // inputs uniform in [-amp, amp)
  bool cpu_check = false;       // also compare with the fp64 CPU reference (small shapes)
};

double tolerance(ElementType t) {
  return t == ElementType::bf16 ? 1e-2 : 5e-3;
}

std::vector<Case> make_cases() {
  const auto bf16 = ElementType::bf16, fp16 = ElementType::fp16;
  const auto none = MaskKind::none, causal = MaskKind::causal;
  std::vector<Case> cases;
  // Small shapes, also checked against the fp64 CPU reference.
  cases.push_back({"small zigzag gqa",
                   2,
                   4,
                   2,
                   128,
                   bf16,
                   causal,
                   concat(run(0, 90), run(400, 83)),
                   {{concat(run(50, 100), run(300, 191))}},
                   1.7f,
                   true});
  cases.push_back(
      {"small dense", 1, 6, 3, 64, fp16, none, run(0, 97), {{run(0, 130)}}, 1.7f, true});
  cases.push_back({"small striped 2 blocks",
                   1,
                   2,
                   1,
                   64,
                   bf16,
                   causal,
                   run(1, 200, 4),
                   {{run(3, 150, 4)}, {run(0, 170, 4)}},
                   1.7f,
                   true});
  cases.push_back(
      {"small diagonal sharp", 1, 2, 2, 128, fp16, causal, run(0, 64), {{run(0, 64)}}, 3.f, true});
  cases.push_back(
      {"tiny q1 kv1", 1, 1, 1, 128, bf16, causal, run(7, 1), {{run(7, 1)}}, 1.7f, true});
  cases.push_back(
      {"tiny q5 kv1000", 1, 3, 1, 64, fp16, causal, run(500, 5, 3), {{run(0, 1000)}}, 1.7f, true});
  // Larger shapes against the GPU reference.
  cases.push_back({"causal 2048", 1, 8, 8, 128, bf16, causal, run(0, 2048), {{run(0, 2048)}}});
  cases.push_back({"dense gqa tails", 2, 8, 2, 128, bf16, none, run(0, 1000), {{run(0, 3001)}}});
  cases.push_back({"zigzag ring 2 blocks",
                   1,
                   4,
                   1,
                   128,
                   fp16,
                   causal,
                   zigzag(1, 4, 1500),
                   {{zigzag(2, 4, 1500)}, {zigzag(0, 4, 1500)}}});
  cases.push_back(
      {"striped 4096", 1, 8, 4, 64, bf16, causal, run(3, 4096, 8), {{run(5, 4096, 8)}}});
  cases.push_back(
      {"dense sharp tails", 1, 4, 4, 64, fp16, none, run(0, 1500), {{run(0, 777)}}, 3.f});
  cases.push_back(
      {"causal 4096 fp16 gqa", 1, 4, 2, 128, fp16, causal, run(0, 4096), {{run(0, 4096)}}});
  return cases;
}

// ------------------------------------------------------------------------------------------
// References and comparison
// ------------------------------------------------------------------------------------------

struct State {
  std::vector<float> o, lse;
};

// fp64 CPU attention + merge over all blocks, on the same 16-bit inputs.
State cpu_reference(const Case& c, const std::vector<uint16_t>& q,
                    const std::vector<std::vector<uint16_t>>& k,
                    const std::vector<std::vector<uint16_t>>& v, const State& init, float scale) {
  const int D = c.head_dim, Sq = int(c.q_pos.size());
  State out = init;
  for (int b = 0; b < c.batch; ++b)
    for (int h = 0; h < c.heads; ++h)
      for (int i = 0; i < Sq; ++i) {
        const size_t row = (size_t(b) * c.heads + h) * Sq + i;
        double lse = out.lse[row];
        std::vector<double> o(out.o.begin() + row * D, out.o.begin() + (row + 1) * D);
        for (size_t blk = 0; blk < c.blocks.size(); ++blk) {
          const auto& kv_pos = c.blocks[blk].pos;
          const int Sk = int(kv_pos.size());
          const size_t kv_row0 = (size_t(b) * c.kv_heads + h / (c.heads / c.kv_heads)) * Sk;
          std::vector<double> s;
          std::vector<int> keys;
          for (int j = 0; j < Sk; ++j) {
            if (c.mask == MaskKind::causal && kv_pos[j] > c.q_pos[i]) continue;
            double dot = 0;
            for (int d = 0; d < D; ++d)
              dot += double(to_float(q[row * D + d], c.type)) *
                     to_float(k[blk][(kv_row0 + j) * D + d], c.type);
            s.push_back(scale * dot);
            keys.push_back(j);
          }
          if (s.empty()) continue;
          const double m = *std::max_element(s.begin(), s.end());
          double sum = 0;
          std::vector<double> ob(D, 0.0);
          for (size_t n = 0; n < s.size(); ++n) {
            const double p = std::exp(s[n] - m);
            sum += p;
            for (int d = 0; d < D; ++d)
              ob[d] += p * to_float(v[blk][(kv_row0 + keys[n]) * D + d], c.type);
          }
          const double lse_blk = m + std::log(sum);
          if (std::isinf(lse) && lse < 0) {
            for (int d = 0; d < D; ++d) o[d] = ob[d] / sum;
            lse = lse_blk;
          } else {
            const double lse_new =
                std::max(lse, lse_blk) + std::log1p(std::exp(-std::fabs(lse - lse_blk)));
            for (int d = 0; d < D; ++d)
              o[d] = o[d] * std::exp(lse - lse_new) + ob[d] / sum * std::exp(lse_blk - lse_new);
            lse = lse_new;
          }
        }
        out.lse[row] = float(lse);
        for (int d = 0; d < D; ++d) out.o[row * D + d] = float(o[d]);
      }
  return out;
}

struct Errors {
  double max_abs_o = 0, rel_o = 0, max_abs_lse = 0, rel_lse = 0;
  size_t untouched_changed = 0, nonfinite = 0;
  bool pass(double tol) const {
    return rel_o <= tol && rel_lse <= tol && untouched_changed == 0 && nonfinite == 0;
  }
};

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

// Rows that some block touches are compared numerically; the others must keep their initial
// bits (including NaN outputs of empty rows).
Errors compare(const State& got, const State& want, const State& init,
               const std::vector<char>& touched, int D) {
  Errors e;
  double diff_o = 0, norm_o = 0, diff_l = 0, norm_l = 0;
  for (size_t row = 0; row < touched.size(); ++row) {
    if (!touched[row]) {
      bool same = same_bits(got.lse[row], init.lse[row]);
      for (int d = 0; d < D; ++d) same = same && same_bits(got.o[row * D + d], init.o[row * D + d]);
      e.untouched_changed += !same;
      continue;
    }
    if (!std::isfinite(got.lse[row])) ++e.nonfinite;
    const double dl = double(got.lse[row]) - want.lse[row];
    diff_l += dl * dl;
    norm_l += double(want.lse[row]) * want.lse[row];
    e.max_abs_lse = std::max(e.max_abs_lse, std::fabs(dl));
    for (int d = 0; d < D; ++d) {
      const float g = got.o[row * D + d], w = want.o[row * D + d];
      if (!std::isfinite(g)) ++e.nonfinite;
      diff_o += double(g - w) * (g - w);
      norm_o += double(w) * w;
      e.max_abs_o = std::max(e.max_abs_o, double(std::fabs(g - w)));
    }
  }
  e.rel_o = norm_o > 0 ? std::sqrt(diff_o / norm_o) : std::sqrt(diff_o);
  e.rel_lse = norm_l > 0 ? std::sqrt(diff_l / norm_l) : std::sqrt(diff_l);
  if (std::isnan(e.rel_o) || std::isnan(e.rel_lse)) ++e.nonfinite;
  return e;
}

bool report(const char* who, const Errors& e, double tol) {
  const bool ok = e.pass(tol);
  std::printf(
      "    %-48s O max|d| %.2e rel %.2e | LSE max|d| %.2e rel %.2e | untouched-changed %zu "
      "non-finite %zu  %s\n",
      who, e.max_abs_o, e.rel_o, e.max_abs_lse, e.rel_lse, e.untouched_changed, e.nonfinite,
      ok ? "ok" : "FAIL");
  return ok;
}

// ------------------------------------------------------------------------------------------
// Running a case
// ------------------------------------------------------------------------------------------

struct DeviceCase {
  DeviceArray<uint16_t> q;
  std::vector<DeviceArray<uint16_t>> k, v;
  DeviceArray<int32_t> q_pos;
  std::vector<DeviceArray<int32_t>> kv_pos;
  DeviceArray<float> o_init, lse_init;
};

BlockAttentionArgs block_args(const Case& c, const DeviceCase& dc, size_t blk, float* o,
                              float* lse) {
  BlockAttentionArgs a{};
  a.q = dc.q.get();
  a.k = dc.k[blk].get();
  a.v = dc.v[blk].get();
  a.q_pos = dc.q_pos.get();
  a.kv_pos = dc.kv_pos[blk].get();
  a.o_acc = o;
  a.lse_acc = lse;
  a.batch = c.batch;
  a.heads = c.heads;
  a.kv_heads = c.kv_heads;
  a.head_dim = c.head_dim;
  a.q_len = int(c.q_pos.size());
  a.kv_len = int(c.blocks[blk].pos.size());
  a.type = c.type;
  a.mask = c.mask;
  a.softmax_scale = 1.f / std::sqrt(float(c.head_dim));
  return a;
}

std::vector<char> touched_rows(const Case& c) {
  const size_t Sq = c.q_pos.size();
  std::vector<char> per_pos(Sq, 0);
  for (size_t i = 0; i < Sq; ++i)
    for (const auto& blk : c.blocks)
      per_pos[i] |= !blk.pos.empty() && (c.mask == MaskKind::none || blk.pos.front() <= c.q_pos[i]);
  std::vector<char> rows(size_t(c.batch) * c.heads * Sq);
  for (size_t r = 0; r < rows.size(); ++r) rows[r] = per_pos[r % Sq];
  return rows;
}

bool run_case(const Case& c, uint64_t seed) {
  const int D = c.head_dim, Sq = int(c.q_pos.size());
  const size_t rows = size_t(c.batch) * c.heads * Sq;
  DeviceCase dc{DeviceArray<uint16_t>(rows * D), {}, {},
                DeviceArray<int32_t>(c.q_pos),   {}, DeviceArray<float>(rows * D),
                DeviceArray<float>(rows)};
  fill_random(dc.q, seed, c.amp, c.type);
  for (size_t blk = 0; blk < c.blocks.size(); ++blk) {
    const size_t n = size_t(c.batch) * c.kv_heads * c.blocks[blk].pos.size() * D;
    dc.k.emplace_back(n);
    dc.v.emplace_back(n);
    dc.kv_pos.emplace_back(c.blocks[blk].pos);
    fill_random(dc.k.back(), seed + 100 + blk, c.amp, c.type);
    fill_random(dc.v.back(), seed + 200 + blk, 1.f, c.type);
  }
  const float lse_center = std::log(float(c.blocks[0].pos.size())) + 1.f;
  fill_state<<<256, 256>>>(dc.o_init.get(), dc.lse_init.get(), rows, D, seed + 300, lse_center);
  FLASH_CUDA_CHECK(cudaGetLastError());
  const State init{dc.o_init.download(), dc.lse_init.download()};

  DeviceArray<float> o(rows * D), lse(rows);
  auto run_all_blocks = [&](auto&& attend) {
    o.copy_from(dc.o_init);
    lse.copy_from(dc.lse_init);
    for (size_t blk = 0; blk < c.blocks.size(); ++blk)
      attend(block_args(c, dc, blk, o.get(), lse.get()));
    FLASH_CUDA_CHECK(cudaDeviceSynchronize());
    return State{o.download(), lse.download()};
  };

  std::string kv_lens;
  for (const auto& blk : c.blocks)
    kv_lens += (kv_lens.empty() ? "" : "+") + std::to_string(blk.pos.size());
  std::printf("case '%s': %s B=%d H=%d KVH=%d D=%d q=%d kv=%s mask=%s\n", c.name.c_str(),
              type_name(c.type), c.batch, c.heads, c.kv_heads, D, Sq, kv_lens.c_str(),
              mask_name(c.mask));

  const auto touched = touched_rows(c);
  const double tol = tolerance(c.type);
  bool ok = true;
  const State ref =
      run_all_blocks([](const BlockAttentionArgs& a) { reference_attend_merge(a, nullptr); });
  if (c.cpu_check) {
    std::vector<std::vector<uint16_t>> k, v;
    for (size_t blk = 0; blk < c.blocks.size(); ++blk) {
      k.push_back(dc.k[blk].download());
      v.push_back(dc.v[blk].download());
    }
    const State cpu = cpu_reference(c, dc.q.download(), k, v, init, 1.f / std::sqrt(float(D)));
    ok &= report("gpu reference vs fp64 cpu", compare(ref, cpu, init, touched, D), 1e-4);
  }
  const BlockAttentionArgs probe = block_args(c, dc, 0, o.get(), lse.get());
  for (int variant = 0; variant < flash_variant_count(); ++variant) {
    if (!flash_variant_supports(variant, probe)) continue;
    const State got = run_all_blocks(
        [&](const BlockAttentionArgs& a) { flash_attend_merge_variant(variant, a, nullptr); });
    const std::string who = std::string(flash_variant_name(variant)) +
                            (variant == flash_default_variant(probe) ? " [default]" : "");
    ok &= report(who.c_str(), compare(got, ref, init, touched, D), tol);
  }
  return ok;
}

// ------------------------------------------------------------------------------------------
// Benchmark
// ------------------------------------------------------------------------------------------

double median_ms(const BlockAttentionArgs& a, int variant, int iters) {
  cudaEvent_t start, stop;
  FLASH_CUDA_CHECK(cudaEventCreate(&start));
  FLASH_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) flash_attend_merge_variant(variant, a, nullptr);  // warm-up
  std::vector<float> times;
  for (int i = 0; i < iters; ++i) {
    FLASH_CUDA_CHECK(cudaEventRecord(start));
    flash_attend_merge_variant(variant, a, nullptr);
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

struct BenchShape {
  int heads, head_dim, seq;
  ElementType type;
  bool all_variants;  // every variant, or only the default
};

void bench_shape(const BenchShape& shape) {
  const int B = 1, H = shape.heads, D = shape.head_dim, S = shape.seq;
  const size_t elems = size_t(B) * H * S * D;
  DeviceArray<uint16_t> q(elems), k(elems), v(elems);
  fill_random(q, 11, 1.7f, shape.type);
  fill_random(k, 12, 1.7f, shape.type);
  fill_random(v, 13, 1.f, shape.type);
  const DeviceArray<int32_t> pos(run(0, S));
  DeviceArray<float> o(elems), lse(size_t(B) * H * S);
  // Finite running LSE everywhere, so every launch does the full read-modify-write merge.
  FLASH_CUDA_CHECK(cudaMemset(o.get(), 0, elems * sizeof(float)));
  lse.upload(std::vector<float>(size_t(B) * H * S, std::log(float(S))));

  std::printf("B=%d H=%d D=%d q_len=kv_len=%d %s, median of 25 runs after 3 warm-ups\n", B, H, D, S,
              type_name(shape.type));
  for (const MaskKind mask : {MaskKind::none, MaskKind::causal}) {
    BlockAttentionArgs a{};
    a.q = q.get();
    a.k = k.get();
    a.v = v.get();
    a.q_pos = pos.get();
    a.kv_pos = pos.get();
    a.o_acc = o.get();
    a.lse_acc = lse.get();
    a.batch = B;
    a.heads = H;
    a.kv_heads = H;
    a.head_dim = D;
    a.q_len = S;
    a.kv_len = S;
    a.type = shape.type;
    a.mask = mask;
    a.softmax_scale = 1.f / std::sqrt(float(D));
    const double allowed = mask == MaskKind::causal ? (S + 1.0) / (2.0 * S) : 1.0;
    const double flops = 4.0 * B * H * double(S) * S * D * allowed;
    for (int variant = 0; variant < flash_variant_count(); ++variant) {
      const bool is_default = variant == flash_default_variant(a);
      if (!flash_variant_supports(variant, a) || !(shape.all_variants || is_default)) continue;
      const double ms = median_ms(a, variant, 25);
      std::printf("  mask=%-6s %-56s %8.3f ms %7.1f TFLOP/s%s\n", mask_name(mask),
                  flash_variant_name(variant), ms, flops / (ms * 1e-3) / 1e12,
                  is_default ? "  [default]" : "");
    }
  }
}

// One timed call of the fp32 reference at a 64K x 64K block (it is for checking, not speed).
int bench_reference() {
  const int B = 1, H = 8, D = 128, S = 65536;
  const size_t elems = size_t(B) * H * S * D;
  DeviceArray<uint16_t> q(elems), k(elems), v(elems);
  fill_random(q, 21, 1.7f, ElementType::bf16);
  fill_random(k, 22, 1.7f, ElementType::bf16);
  fill_random(v, 23, 1.f, ElementType::bf16);
  const DeviceArray<int32_t> pos(run(0, S));
  DeviceArray<float> o(elems), lse(size_t(B) * H * S);
  for (const MaskKind mask : {MaskKind::none, MaskKind::causal}) {
    lse.upload(std::vector<float>(size_t(B) * H * S, -INFINITY));
    BlockAttentionArgs a{};
    a.q = q.get();
    a.k = k.get();
    a.v = v.get();
    a.q_pos = pos.get();
    a.kv_pos = pos.get();
    a.o_acc = o.get();
    a.lse_acc = lse.get();
    a.batch = B;
    a.heads = H;
    a.kv_heads = H;
    a.head_dim = D;
    a.q_len = S;
    a.kv_len = S;
    a.type = ElementType::bf16;
    a.mask = mask;
    a.softmax_scale = 1.f / std::sqrt(float(D));
    cudaEvent_t start, stop;
    FLASH_CUDA_CHECK(cudaEventCreate(&start));
    FLASH_CUDA_CHECK(cudaEventCreate(&stop));
    FLASH_CUDA_CHECK(cudaEventRecord(start));
    reference_attend_merge(a, nullptr);
    FLASH_CUDA_CHECK(cudaEventRecord(stop));
    FLASH_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    FLASH_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    std::printf("reference B=%d H=%d D=%d q_len=kv_len=%d bf16 mask=%s: %.1f ms\n", B, H, D, S,
                mask_name(mask), ms);
    FLASH_CUDA_CHECK(cudaEventDestroy(start));
    FLASH_CUDA_CHECK(cudaEventDestroy(stop));
  }
  return 0;
}

int bench() {
  cudaDeviceProp prop{};
  FLASH_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("bench on %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
  bench_shape({32, 128, 16384, ElementType::bf16, true});  // the reference configuration
  bench_shape({32, 128, 16384, ElementType::fp16, false});
  bench_shape({32, 128, 65536, ElementType::bf16, true});
  // head dim 64 at the issue's 8 x 64 shapes (beside FlashAttention-3 on the same shapes)
  bench_shape({8, 64, 16384, ElementType::bf16, true});
  bench_shape({8, 64, 65536, ElementType::bf16, true});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--bench") return bench();
    if (mode == "--bench-ref") return bench_reference();
    if (!mode.empty() && mode != "--small") {
      std::fprintf(stderr, "usage: %s [--small | --bench | --bench-ref]\n", argv[0]);
      return 2;
    }
    bool ok = true;
    uint64_t seed = 1234;
    for (const Case& c : make_cases())
      if (mode != "--small" || c.cpu_check) ok &= run_case(c, seed += 1000);
    std::printf("%s\n", ok ? "ALL CHECKS PASSED" : "SOME CHECKS FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
