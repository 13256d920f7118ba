// Flash-attention backward for one K/V block of ring attention: the gradients of the block's
// contribution given the final log-sum-exp of the forward (math in BlockAttentionBackward.cuh).
//
// Variants, in flash_attend_backward's order of preference:
//   * wgmma + TMA (sm_90a, D = 64 or 128): a producer warp streams 64-query tiles of Q and dO
//     with their rows' statistics; two consumer warpgroups of 64 keys run the five products as
//     warpgroup MMAs, dK/dV in registers, dQ through one shared-memory pass of dS^T and TMA
//     reduce-adds (WgmmaBackwardKernel.cuh).
//   * mma.sync m16n8k16 (sm_80+, D = 64 or 128): FlashAttention-2's loop, one warp per 16 keys
//     (MmaSyncBackwardKernel.cuh).
// Both run one block per (128-key tile, kv head, batch) and walk every query tile of the GQA
// group's heads that sees the tile; BackwardParams.cuh holds what they share. This file
// launches them.
#include "flash/BlockAttentionBackward.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "flash/BackwardParams.cuh"
#include "flash/CudaCheck.cuh"
#include "flash/MmaSyncBackwardKernel.cuh"
#include "flash/TmaPrimitives.cuh"
// Without sm_90a the wgmma kernel body compiles to a trap, leaving helpers unreferenced.
#pragma nv_diag_suppress 177
#include "flash/WgmmaBackwardKernel.cuh"
#pragma nv_diag_default 177

namespace ringbench::cuda {
namespace {

template <class C>
void launch_bwd(const BwdParams& p, ElementType type, int batch, cudaStream_t stream) {
  auto kernel =
      type == ElementType::bf16
          ? (p.listed() ? &flash_bwd_kernel<C, __nv_bfloat16, true>
                        : &flash_bwd_kernel<C, __nv_bfloat16, false>)
          : (p.listed() ? &flash_bwd_kernel<C, __half, true> : &flash_bwd_kernel<C, __half, false>);
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  const dim3 grid((p.kv_len + C::kBlockN - 1) / C::kBlockN, p.kv_heads, batch);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p);
  FLASH_CHECK_LAUNCH();
}

// The wgmma variant's tensor maps: Q and dO in boxes of a query tile, K and V of the key tile.
template <class C, bool kListed>
void launch_bwd_wgmma(const BwdParams& p, ElementType type, int batch, cudaStream_t stream) {
  constexpr int D = C::kHeadDim;
  const BwdTmaMaps maps{make_tensor_map(p.q, type, p.q_len, batch * p.heads, D, C::kBlockM),
                        make_tensor_map(p.d_o, type, p.q_len, batch * p.heads, D, C::kBlockM),
                        make_tensor_map(p.k, type, p.kv_len, batch * p.kv_heads, D, C::kBlockN),
                        make_tensor_map(p.v, type, p.kv_len, batch * p.kv_heads, D, C::kBlockN),
                        make_tensor_map(p.dq, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, p.q_len,
                                        batch * p.heads, D, C::kBlockM)};
  auto kernel = type == ElementType::bf16 ? &flash_bwd_wgmma_kernel<C, __nv_bfloat16, kListed>
                                          : &flash_bwd_wgmma_kernel<C, __half, kListed>;
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  const dim3 grid((p.kv_len + C::kBlockN - 1) / C::kBlockN, p.kv_heads, batch);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p, maps);
  FLASH_CHECK_LAUNCH();
}

template <class C>
void launch_wgmma(const BwdParams& p, ElementType type, int batch, cudaStream_t stream) {
  if (p.listed())
    launch_bwd_wgmma<C, true>(p, type, batch, stream);
  else
    launch_bwd_wgmma<C, false>(p, type, batch, stream);
}

struct Variant {
  const char* name;
  int head_dim;
  bool needs_sm90a;  // wgmma: built for sm_90a and running on a compute capability 9.0 device
  void (*launch)(const BwdParams&, ElementType, int, cudaStream_t);
};

constexpr Variant kVariants[] = {
    //                                                               D   BN   BM  min blocks/SM
    {"mma.sync D128 Bn128 Bm64, 8 warps, 1 block/SM", 128, false,
     &launch_bwd<BwdConfig<128, 128, 64, 1>>},
    {"mma.sync D64 Bn128 Bm64, 8 warps, 1 block/SM", 64, false,
     &launch_bwd<BwdConfig<64, 128, 64, 1>>},
    //                                                                              D  stages
    {"wgmma D128 Bn128 Bm64, TMA + 2 warpgroups, 2 stages", 128, true,
     &launch_wgmma<WgmmaBwdConfig<128, 2>>},
    {"wgmma D64 Bn128 Bm64, TMA + 2 warpgroups, 2 stages", 64, true,
     &launch_wgmma<WgmmaBwdConfig<64, 2>>},
};
constexpr int kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);
constexpr int kMmaD128 = 0, kMmaD64 = 1, kWgmmaD128 = 2, kWgmmaD64 = 3;

bool aligned(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

bool shape_supported(const BlockBackwardArgs& a) {
  return a.batch > 0 && a.heads > 0 && a.kv_heads > 0 && a.q_len > 0 && a.kv_len > 0 &&
         a.heads % a.kv_heads == 0 && a.kv_heads <= 65535 && a.batch <= 65535 &&
         a.softmax_scale > 0.f && std::isfinite(a.softmax_scale) && aligned(a.q, 16) &&
         aligned(a.d_o, 16) && aligned(a.k, 16) && aligned(a.v, 16) && aligned(a.dq, 16) &&
         aligned(a.dk, 16) && aligned(a.dv, 16) && a.lse != nullptr && a.delta != nullptr &&
         a.q_pos != nullptr && a.kv_pos != nullptr &&
         (a.mask != MaskKind::terms || (a.tiles.offsets != nullptr && a.tiles.entries != nullptr &&
                                        a.tiles.order != nullptr && a.terms.map_block > 0));
}

BwdParams make_params(const BlockBackwardArgs& a) {
  return BwdParams{a.q,
                   a.d_o,
                   a.k,
                   a.v,
                   a.lse,
                   a.delta,
                   a.q_pos,
                   a.kv_pos,
                   a.dq,
                   a.dk,
                   a.dv,
                   a.heads,
                   a.kv_heads,
                   a.heads / a.kv_heads,
                   a.q_len,
                   a.kv_len,
                   a.softmax_scale,
                   a.softmax_scale * kLog2e,
                   a.mask == MaskKind::causal,
                   a.mask == MaskKind::terms ? a.tiles.offsets : nullptr,
                   a.mask == MaskKind::terms ? a.tiles.entries : nullptr,
                   a.tiles.order,
                   a.terms};
}

}  // namespace

int flash_backward_variant_count() {
  return kNumVariants;
}

const char* flash_backward_variant_name(int variant) {
  return variant >= 0 && variant < kNumVariants ? kVariants[variant].name : "none";
}

bool flash_backward_variant_supports(int variant, const BlockBackwardArgs& a) {
  return variant >= 0 && variant < kNumVariants && shape_supported(a) &&
         kVariants[variant].head_dim == a.head_dim &&
         (!kVariants[variant].needs_sm90a || flash_wgmma_available());
}

int flash_backward_default_variant(const BlockBackwardArgs& a) {
  if (!shape_supported(a)) return -1;
  if (a.head_dim == 128) return flash_wgmma_available() ? kWgmmaD128 : kMmaD128;
  if (a.head_dim == 64) return flash_wgmma_available() ? kWgmmaD64 : kMmaD64;
  return -1;
}

bool flash_backward_supports(const BlockBackwardArgs& a) {
  return flash_backward_default_variant(a) >= 0;
}

void flash_attend_backward_variant(int variant, const BlockBackwardArgs& a, cudaStream_t stream) {
  if (!flash_backward_variant_supports(variant, a))
    throw std::runtime_error(std::string("flash_attend_backward: variant '") +
                             flash_backward_variant_name(variant) +
                             "' does not support these arguments");
  kVariants[variant].launch(make_params(a), a.type, a.batch, stream);
}

void flash_attend_backward(const BlockBackwardArgs& a, cudaStream_t stream) {
  const int variant = flash_backward_default_variant(a);
  if (variant < 0)
    throw std::runtime_error(
        "flash_attend_backward: unsupported arguments (see flash_backward_supports)");
  kVariants[variant].launch(make_params(a), a.type, a.batch, stream);
}

}  // namespace ringbench::cuda
