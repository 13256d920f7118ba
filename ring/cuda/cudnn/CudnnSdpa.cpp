#include "ring/cuda/cudnn/CudnnSdpa.hpp"

#include <cudnn.h>
#include <cudnn_frontend.h>

#include <map>
#include <tuple>
#include <unordered_map>
#include <vector>

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

enum Uid : std::int64_t { kQ = 1, kK, kV, kO, kStats, kdO, kdQ, kdK, kdV };

fe::DataType_t io_type(DType t) {
  return t == DType::fp16 ? fe::DataType_t::HALF : fe::DataType_t::BFLOAT16;
}

std::vector<std::int64_t> rows_strides(std::int64_t heads, std::int64_t rows, std::int64_t dim) {
  return {heads * rows * dim, rows * dim, dim, 1};
}

// The graph's tensors: [batch, heads, len, dim] views with the strides of the whole buffers.
class SdpaTensors {
 public:
  SdpaTensors(fe::graph::Graph& graph, const SdpaShape& s) : graph_(graph), s_(s) {}
  std::shared_ptr<fe::graph::Tensor_attributes> queries(const char* name, std::int64_t uid) {
    return make(name, uid, s_.heads, s_.q_len, s_.q_rows);
  }
  std::shared_ptr<fe::graph::Tensor_attributes> keys(const char* name, std::int64_t uid) {
    return make(name, uid, s_.kv_heads, s_.k_len, s_.k_rows);
  }
  void query_output(fe::graph::Tensor_attributes& t, std::int64_t uid) const {
    output(t, uid, s_.heads, s_.q_len, s_.q_rows);
  }
  void key_output(fe::graph::Tensor_attributes& t, std::int64_t uid) const {
    output(t, uid, s_.kv_heads, s_.k_len, s_.k_rows);
  }
  // fp32 [batch, heads, q_len, 1] inside [batch, heads, q_rows], or packed (q_rows = q_len)
  std::vector<std::int64_t> stats_dim() const { return {s_.batch, s_.heads, s_.q_len, 1}; }
  std::vector<std::int64_t> stats_stride(bool packed = false) const {
    const std::int64_t rows = packed ? s_.q_len : s_.q_rows;
    return {s_.heads * rows, rows, 1, 1};
  }

 private:
  std::shared_ptr<fe::graph::Tensor_attributes> make(const char* name, std::int64_t uid,
                                                     std::int64_t heads, std::int64_t len,
                                                     std::int64_t rows) {
    return graph_.tensor(fe::graph::Tensor_attributes()
                             .set_name(name)
                             .set_uid(uid)
                             .set_dim({s_.batch, heads, len, s_.dim})
                             .set_stride(rows_strides(heads, rows, s_.dim)));
  }
  void output(fe::graph::Tensor_attributes& t, std::int64_t uid, std::int64_t heads,
              std::int64_t len, std::int64_t rows) const {
    t.set_output(true)
        .set_uid(uid)
        .set_dim({s_.batch, heads, len, s_.dim})
        .set_stride(rows_strides(heads, rows, s_.dim));
  }
  fe::graph::Graph& graph_;
  const SdpaShape& s_;
};

std::shared_ptr<fe::graph::Graph> new_graph(const SdpaShape& s) {
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(io_type(s.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  return graph;
}

void build(fe::graph::Graph& graph, cudnnHandle_t handle) {
  RINGBENCH_CHECK_CUDNN_FE(graph.validate());
  RINGBENCH_CHECK_CUDNN_FE(graph.build_operation_graph(handle));
  RINGBENCH_CHECK_CUDNN_FE(graph.create_execution_plans({fe::HeurMode_t::A}));
  RINGBENCH_CHECK_CUDNN_FE(graph.check_support(handle));
  RINGBENCH_CHECK_CUDNN_FE(graph.build_plans(handle));
}

std::shared_ptr<fe::graph::Graph> build_forward_graph(const SdpaShape& s, cudnnHandle_t handle) {
  auto graph = new_graph(s);
  SdpaTensors t(*graph, s);
  auto options =
      fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(true).set_attn_scale(
          s.scale);
  if (s.causal) options.set_causal_mask(true);
  auto [o, stats] = graph->sdpa(t.queries("Q", kQ), t.keys("K", kK), t.keys("V", kV), options);
  t.query_output(*o, kO);
  stats->set_output(true)
      .set_uid(kStats)
      .set_data_type(fe::DataType_t::FLOAT)
      .set_dim(t.stats_dim())
      .set_stride(t.stats_stride());
  build(*graph, handle);
  return graph;
}

std::shared_ptr<fe::graph::Graph> build_backward_graph(const SdpaShape& s, cudnnHandle_t handle) {
  auto graph = new_graph(s);
  SdpaTensors t(*graph, s);
  auto stats = graph->tensor(fe::graph::Tensor_attributes()
                                 .set_name("Stats")
                                 .set_uid(kStats)
                                 .set_data_type(fe::DataType_t::FLOAT)
                                 .set_dim(t.stats_dim())
                                 .set_stride(t.stats_stride(/*packed=*/true)));
  auto options =
      fe::graph::SDPA_backward_attributes().set_name("sdpa_backward").set_attn_scale(s.scale);
  if (s.causal) options.set_causal_mask(true);
  auto [dq, dk, dv] =
      graph->sdpa_backward(t.queries("Q", kQ), t.keys("K", kK), t.keys("V", kV), t.queries("O", kO),
                           t.queries("dO", kdO), stats, options);
  t.query_output(*dq, kdQ);
  t.key_output(*dk, kdK);
  t.key_output(*dv, kdV);
  build(*graph, handle);
  return graph;
}

}  // namespace

struct CudnnSdpa::Impl {
  cudnnHandle_t handle = nullptr;
  using Graphs = std::map<decltype(SdpaShape{}.key()), std::shared_ptr<fe::graph::Graph>>;
  Graphs forward, backward;

  fe::graph::Graph& graph(const SdpaShape& s) {
    auto& g = forward[s.key()];
    if (!g) g = build_forward_graph(s, handle);
    return *g;
  }
  fe::graph::Graph& backward_graph(const SdpaShape& s) {
    auto& g = backward[s.key()];
    if (!g) g = build_backward_graph(s, handle);
    return *g;
  }
};

CudnnSdpa::CudnnSdpa() : impl_(std::make_unique<Impl>()) {
  RINGBENCH_CHECK_CUDNN(cudnnCreate(&impl_->handle));
}

CudnnSdpa::~CudnnSdpa() {
  impl_->forward.clear();
  impl_->backward.clear();
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

std::int64_t CudnnSdpa::prepare_backward(const SdpaShape& shape) {
  std::int64_t bytes = 0;
  RINGBENCH_CHECK_CUDNN_FE(impl_->backward_graph(shape).get_workspace_size(bytes));
  return bytes;
}

void CudnnSdpa::run_backward(const SdpaShape& shape, const Backward& b, void* workspace,
                             cudaStream_t stream) {
  RINGBENCH_CHECK_CUDNN(cudnnSetStream(impl_->handle, stream));
  std::unordered_map<std::int64_t, void*> pack = {{kQ, const_cast<void*>(b.q)},
                                                  {kK, const_cast<void*>(b.k)},
                                                  {kV, const_cast<void*>(b.v)},
                                                  {kO, const_cast<void*>(b.o)},
                                                  {kdO, const_cast<void*>(b.d_o)},
                                                  {kStats, const_cast<float*>(b.stats)},
                                                  {kdQ, b.dq},
                                                  {kdK, b.dk},
                                                  {kdV, b.dv}};
  RINGBENCH_CHECK_CUDNN_FE(impl_->backward_graph(shape).execute(impl_->handle, pack, workspace));
}

std::string CudnnSdpa::version() {
  const std::size_t v = cudnnGetVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100) + " (frontend " + std::to_string(CUDNN_FRONTEND_MAJOR_VERSION) +
         "." + std::to_string(CUDNN_FRONTEND_MINOR_VERSION) + ")";
}

}  // namespace ringbench
