#include "ring/cuda/cudnn/CudnnSdpa.hpp"

#include <cudnn.h>
#include <cudnn_frontend.h>

#include <map>
#include <tuple>
#include <unordered_map>

#include "core/Error.hpp"

namespace ringbench {

namespace fe = cudnn_frontend;

#define RINGBENCH_CHECK_CUDNN(call)                                                               \
  do {                                                                                            \
    const cudnnStatus_t rb_status_ = (call);                                                      \
    if (rb_status_ != CUDNN_STATUS_SUCCESS)                                                       \
      ::ringbench::throw_library_error("cuDNN", #call, cudnnGetErrorString(rb_status_), __FILE__, \
                                       __LINE__);                                                 \
  } while (0)

#define RINGBENCH_CHECK_CUDNN_FE(call)                                                    \
  do {                                                                                    \
    auto rb_result_ = (call);                                                             \
    if (!rb_result_.is_good())                                                            \
      ::ringbench::throw_library_error("cuDNN frontend", #call, rb_result_.get_message(), \
                                       __FILE__, __LINE__);                               \
  } while (0)

namespace {

enum Uid : std::int64_t { kQ = 1, kK, kV, kO, kStats };

fe::DataType_t io_type(DType t) {
  return t == DType::fp16 ? fe::DataType_t::HALF : fe::DataType_t::BFLOAT16;
}

std::vector<std::int64_t> rows_strides(std::int64_t heads, std::int64_t rows, std::int64_t dim) {
  return {heads * rows * dim, rows * dim, dim, 1};
}

std::shared_ptr<fe::graph::Graph> build_graph(const SdpaShape& s, cudnnHandle_t handle) {
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(io_type(s.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  auto tensor = [&](const char* name, std::int64_t uid, std::int64_t heads, std::int64_t len,
                    std::int64_t rows) {
    return graph->tensor(fe::graph::Tensor_attributes()
                             .set_name(name)
                             .set_uid(uid)
                             .set_dim({s.batch, heads, len, s.dim})
                             .set_stride(rows_strides(heads, rows, s.dim)));
  };
  auto q = tensor("Q", kQ, s.heads, s.q_len, s.q_rows);
  auto k = tensor("K", kK, s.kv_heads, s.k_len, s.k_rows);
  auto v = tensor("V", kV, s.kv_heads, s.k_len, s.k_rows);
  auto options =
      fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(true).set_attn_scale(
          s.scale);
  if (s.causal) options.set_causal_mask(true);
  auto [o, stats] = graph->sdpa(q, k, v, options);
  o->set_output(true)
      .set_uid(kO)
      .set_dim({s.batch, s.heads, s.q_len, s.dim})
      .set_stride(rows_strides(s.heads, s.q_rows, s.dim));
  stats->set_output(true)
      .set_uid(kStats)
      .set_data_type(fe::DataType_t::FLOAT)
      .set_dim({s.batch, s.heads, s.q_len, 1})
      .set_stride({s.heads * s.q_rows, s.q_rows, 1, 1});
  RINGBENCH_CHECK_CUDNN_FE(graph->validate());
  RINGBENCH_CHECK_CUDNN_FE(graph->build_operation_graph(handle));
  RINGBENCH_CHECK_CUDNN_FE(graph->create_execution_plans({fe::HeurMode_t::A}));
  RINGBENCH_CHECK_CUDNN_FE(graph->check_support(handle));
  RINGBENCH_CHECK_CUDNN_FE(graph->build_plans(handle));
  return graph;
}

}  // namespace

struct CudnnSdpa::Impl {
  cudnnHandle_t handle = nullptr;
  std::map<decltype(SdpaShape{}.key()), std::shared_ptr<fe::graph::Graph>> graphs;

  fe::graph::Graph& graph(const SdpaShape& s) {
    auto& g = graphs[s.key()];
    if (!g) g = build_graph(s, handle);
    return *g;
  }
};

CudnnSdpa::CudnnSdpa() : impl_(std::make_unique<Impl>()) {
  RINGBENCH_CHECK_CUDNN(cudnnCreate(&impl_->handle));
}

CudnnSdpa::~CudnnSdpa() {
  impl_->graphs.clear();
  if (impl_->handle) cudnnDestroy(impl_->handle);
}

std::int64_t CudnnSdpa::prepare(const SdpaShape& shape) {
  std::int64_t bytes = 0;
  RINGBENCH_CHECK_CUDNN_FE(impl_->graph(shape).get_workspace_size(bytes));
  return bytes;
}

void CudnnSdpa::run(const SdpaShape& shape, const void* q, const void* k, const void* v, void* o,
                    float* stats, void* workspace, cudaStream_t stream) {
  RINGBENCH_CHECK_CUDNN(cudnnSetStream(impl_->handle, stream));
  std::unordered_map<std::int64_t, void*> pack = {{kQ, const_cast<void*>(q)},
                                                  {kK, const_cast<void*>(k)},
                                                  {kV, const_cast<void*>(v)},
                                                  {kO, o},
                                                  {kStats, stats}};
  RINGBENCH_CHECK_CUDNN_FE(impl_->graph(shape).execute(impl_->handle, pack, workspace));
}

std::string CudnnSdpa::version() {
  const std::size_t v = cudnnGetVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100) + " (frontend " + std::to_string(CUDNN_FRONTEND_MAJOR_VERSION) +
         "." + std::to_string(CUDNN_FRONTEND_MINOR_VERSION) + ")";
}

}  // namespace ringbench
