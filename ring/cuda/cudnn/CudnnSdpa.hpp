// cuDNN fused attention through the cuDNN frontend graph API: SDPA forward with the softmax
// statistics (the log-sum-exp), and SDPA backward from O, dO and those statistics. One graph per
// shape and direction, built once and cached; the frontend headers stay inside CudnnSdpa.cpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/ProblemSpec.hpp"

namespace ringbench {

// One dense attention call: `q_len` query rows against `k_len` key rows, all pairs or causal
// (top-left: query i sees keys 0..i). Rows are strided inside [batch, heads, *_rows, dim] buffers.
struct SdpaShape {
  std::int64_t batch = 1, heads = 1, kv_heads = 1, dim = 128;
  std::int64_t q_len = 0, k_len = 0;    // rows of this call
  std::int64_t q_rows = 0, k_rows = 0;  // rows of the buffers they live in (strides)
  bool causal = false;
  DType dtype = DType::bf16;
  float scale = 1.0f;

  auto key() const { return std::tuple(q_len, k_len, q_rows, k_rows, causal); }
};

class CudnnSdpa {
 public:
  CudnnSdpa();
  ~CudnnSdpa();
  CudnnSdpa(const CudnnSdpa&) = delete;
  CudnnSdpa& operator=(const CudnnSdpa&) = delete;

  // Builds the graph for `shape` (once) and returns its workspace size. Throws LibraryError with
  // cuDNN's message when cuDNN cannot run the shape.
  std::int64_t prepare(const SdpaShape& shape);
  // o: bf16/fp16 like q; stats: fp32 [batch, heads, q_rows] (natural-log LSE of scaled scores).
  void run(const SdpaShape& shape, const void* q, const void* k, const void* v, void* o,
           float* stats, void* workspace, cudaStream_t stream);

  // The backward of the same call: dq like q, dk and dv like k (all in the input type) from q, k,
  // v, the forward's o (input type) and stats, and d_o. cuDNN computes D = rowsum(dO ∘ O) itself.
  // Unlike the forward's, these stats are packed: [batch, heads, q_len] (cuDNN below 9.26 takes
  // no other).
  std::int64_t prepare_backward(const SdpaShape& shape);
  struct Backward {
    const void *q, *k, *v, *o, *d_o;
    const float* stats;
    void *dq, *dk, *dv;
  };
  void run_backward(const SdpaShape& shape, const Backward& b, void* workspace,
                    cudaStream_t stream);

  static std::string version();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringbench
