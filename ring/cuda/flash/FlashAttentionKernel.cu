// Flash-attention block kernels for ring attention: attend local queries to one K/V block
// and merge the result into the running (o_acc, lse_acc) in the epilogue.
//
// Variants, in flash_attend_merge's order of preference:
//   * wgmma + TMA (sm_90a, D = 128): a producer warpgroup streams Q/K/V tiles with the tensor
//     memory accelerator into 128-byte-swizzled shared memory (mbarrier pipeline); two
//     consumer warpgroups of 64 query rows run S = Q K^T and O += P V as wgmma, ping-ponging
//     their issue so one warpgroup's softmax overlaps the other's matrix products. Key tiles of
//     128 keys, or 176 (FlashAttention-3's non-causal D = 128 tile: fewer softmax passes and
//     barriers per FLOP; bands only, as 176 does not split the mask terms' 128-key tile lists).
//   * wgmma with cp.async loads (sm_90a, D = 128): same math, all threads copy, block
//     barrier per tile. Kept as a simpler second implementation for cross-checking.
//   * mma.sync m16n8k16 (sm_80+, D = 64 or 128): FA2-style, each warp owns 32 query rows;
//     K/V tiles double-buffered with cp.async, fragments read with ldmatrix.
//
// All variants share: one block per (128 query rows, head, batch); online softmax in fp32
// with exp2; mask classification from the increasing q_pos/kv_pos (fully masked tiles are
// never loaded, fully allowed tiles skip the per-element test); P re-packed from the S
// accumulators in registers; the normalize-and-merge epilogue reads o_acc/lse_acc once and
// writes them once.
//
// One concern per file, as FlashAttention-3's hopper/ folder: FlashParams.cuh (parameters),
// TileScheduler.cuh (key tiles per block, heavy blocks first), Softmax.cuh (online softmax and
// partial-tile masks), Epilogue.cuh (normalize and merge), WgmmaInstructions.cuh and
// TmaPrimitives.cuh (the instructions, shared with the backward), MmaSyncKernel.cuh,
// WgmmaPrimitives.cuh, WgmmaKernel.cuh and WgmmaTmaKernel.cuh (the variants' main loops); this
// file launches them.
//
// Cost model (B=1, H=32, S=16K, D=128): 4*H*S*S*D = 4.4 TFLOP against ~0.3 GB of compulsory
// traffic (Q, K, V once, o_acc read+write), so the kernels are bound by tensor-core issue,
// the exp2 unit and shared-memory bandwidth, not by DRAM.
#include <cuda.h>  // CUtensorMap and its enums (types only; no driver library link)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#include "flash/Epilogue.cuh"
#include "flash/FlashParams.cuh"
#include "flash/MmaSyncKernel.cuh"
#include "flash/Softmax.cuh"
#include "flash/TileScheduler.cuh"
#include "flash/TmaPrimitives.cuh"
// Without sm_90a the wgmma kernel bodies compile to a trap, leaving helpers unreferenced.
#pragma nv_diag_suppress 177
#include "flash/WgmmaKernel.cuh"
#include "flash/WgmmaPrimitives.cuh"
#include "flash/WgmmaTmaKernel.cuh"
#pragma nv_diag_default 177

namespace ringbench::cuda {
namespace {

// ------------------------------------------------------------------------------------------
// Host side: variants and dispatch
// ------------------------------------------------------------------------------------------

template <class C, typename T>
void launch_mma_typed(const FlashParams& p, int batch, cudaStream_t stream) {
  auto kernel = &flash_mma_kernel<C, T>;
  // Set on every launch: cheap, and correct when the caller switches devices.
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  FLASH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        cudaSharedmemCarveoutMaxShared));
  const dim3 grid((p.q_len + C::kBlockM - 1) / C::kBlockM, p.heads, batch);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p);
  FLASH_CHECK_LAUNCH();
}

template <class C>
void launch_mma(const FlashParams& p, ElementType type, int batch, cudaStream_t stream) {
  if (type == ElementType::bf16)
    launch_mma_typed<C, __nv_bfloat16>(p, batch, stream);
  else
    launch_mma_typed<C, __half>(p, batch, stream);
}

template <typename T>
void launch_wgmma_typed(const FlashParams& p, int batch, cudaStream_t stream) {
  using C = WgmmaConfig;
  auto kernel = &flash_wgmma_kernel<T>;
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  const dim3 grid((p.q_len + C::kBlockM - 1) / C::kBlockM, p.heads, batch);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p);
  FLASH_CHECK_LAUNCH();
}

void launch_wgmma(const FlashParams& p, ElementType type, int batch, cudaStream_t stream) {
  if (type == ElementType::bf16)
    launch_wgmma_typed<__nv_bfloat16>(p, batch, stream);
  else
    launch_wgmma_typed<__half>(p, batch, stream);
}

template <class C, typename T, bool kPingPong>
void launch_wgmma_tma_typed(const FlashParams& p, const TmaMaps& maps, int batch,
                            cudaStream_t stream) {
  auto kernel = &flash_wgmma_tma_kernel<C, T, kPingPong>;
  FLASH_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes));
  const dim3 grid((p.q_len + C::kBlockM - 1) / C::kBlockM, p.heads, batch);
  kernel<<<grid, kTmaThreads, C::kSmemBytes, stream>>>(p, maps);
  FLASH_CHECK_LAUNCH();
}

// C: WgmmaTileConfig<kBlockN>; a K/V box is one key tile (TMA boxes take up to 256 rows).
template <class C, bool kPingPong>
void launch_wgmma_tma(const FlashParams& p, ElementType type, int batch, cudaStream_t stream) {
  if (p.listed() && !TileWalk<C::kBlockN>::kWalksLists)  // kVariants' tile_lists says so too
    throw std::runtime_error("flash_attend_merge: this key tile cannot walk mask-term tile lists");
  constexpr int D = C::kHeadDim;
  const TmaMaps maps{make_tensor_map(p.q, type, p.q_len, batch * p.heads, D, C::kBlockM),
                     make_tensor_map(p.k, type, p.kv_len, batch * p.kv_heads, D, C::kBlockN),
                     make_tensor_map(p.v, type, p.kv_len, batch * p.kv_heads, D, C::kBlockN)};
  if (type == ElementType::bf16)
    launch_wgmma_tma_typed<C, __nv_bfloat16, kPingPong>(p, maps, batch, stream);
  else
    launch_wgmma_tma_typed<C, __half, kPingPong>(p, maps, batch, stream);
}

struct Variant {
  const char* name;
  int head_dim;
  bool needs_sm90a;  // wgmma: built for sm_90a and running on a compute capability 9.0 device
  bool tile_lists;   // runs mask terms: its key tiles split TileList's 128-key tiles
  void (*launch)(const FlashParams&, ElementType, int, cudaStream_t);
};

//                D    BN  warps  m16 tiles/warp  min blocks/SM
using D128N64W4 = MmaConfig<128, 64, 4, 2, 2>;
using D128N32W4 = MmaConfig<128, 32, 4, 2, 2>;
using D64N64W4 = MmaConfig<64, 64, 4, 2, 2>;

using WgmmaN176 = WgmmaTileConfig<176>;
using WgmmaD64 = WgmmaTileConfig<128, 64>;
using WgmmaD64N176 = WgmmaTileConfig<176, 64>;

constexpr Variant kVariants[] = {
    {"mma.sync D128 Bm128 Bn64, 4 warps x 32 rows", 128, false, true, &launch_mma<D128N64W4>},
    {"mma.sync D128 Bm128 Bn32, 4 warps x 32 rows", 128, false, true, &launch_mma<D128N32W4>},
    {"mma.sync D64 Bm128 Bn64, 4 warps x 32 rows", 64, false, true, &launch_mma<D64N64W4>},
    {"wgmma D128 Bm128 Bn128, cp.async, 2 warpgroups", 128, true, true, &launch_wgmma},
    {"wgmma D128 Bm128 Bn128, TMA producer + 2 warpgroups", 128, true, true,
     &launch_wgmma_tma<WgmmaConfig, false>},
    {"wgmma D128 Bm128 Bn128, TMA producer + 2 wg ping-pong", 128, true, true,
     &launch_wgmma_tma<WgmmaConfig, true>},
    // the default where no mask terms need TileList's 128-key tiles (1-4 % over Bn128 on H200)
    {"wgmma D128 Bm128 Bn176, TMA producer + 2 wg ping-pong", 128, true, false,
     &launch_wgmma_tma<WgmmaN176, true>},
    {"wgmma D64 Bm128 Bn128, TMA producer + 2 wg ping-pong", 64, true, true,
     &launch_wgmma_tma<WgmmaD64, true>},
    {"wgmma D64 Bm128 Bn176, TMA producer + 2 wg ping-pong", 64, true, false,
     &launch_wgmma_tma<WgmmaD64N176, true>},
};
constexpr int kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);
constexpr int kWgmmaD128 = 5, kWgmmaD128N176 = 6, kMmaD128 = 0, kMmaD64 = 2, kWgmmaD64 = 7;

bool aligned(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

bool shape_supported(const BlockAttentionArgs& a) {
  return a.batch > 0 && a.heads > 0 && a.kv_heads > 0 && a.q_len > 0 && a.kv_len > 0 &&
         a.heads % a.kv_heads == 0 && a.heads <= 65535 && a.batch <= 65535 &&
         a.softmax_scale > 0.f && std::isfinite(a.softmax_scale) && aligned(a.q, 16) &&
         aligned(a.k, 16) && aligned(a.v, 16) && aligned(a.o_acc, 8) && a.q_pos != nullptr &&
         a.kv_pos != nullptr && a.lse_acc != nullptr &&
         (a.mask != MaskKind::terms || (a.tiles.offsets != nullptr && a.tiles.entries != nullptr &&
                                        a.tiles.order != nullptr && a.terms.map_block > 0));
}

FlashParams make_params(const BlockAttentionArgs& a) {
  const BandLimits band = band_limits(a);
  return FlashParams{a.q,
                     a.k,
                     a.v,
                     a.q_pos,
                     a.kv_pos,
                     a.o_acc,
                     a.lse_acc,
                     a.heads,
                     a.kv_heads,
                     a.heads / a.kv_heads,
                     a.q_len,
                     a.kv_len,
                     a.softmax_scale * kLog2e,
                     band.banded,
                     band.left,
                     band.right,
                     a.mask == MaskKind::terms ? a.tiles.offsets : nullptr,
                     a.mask == MaskKind::terms ? a.tiles.entries : nullptr,
                     a.tiles.order,
                     a.terms};
}

}  // namespace

bool flash_wgmma_available() {
#if defined(RINGBENCH_FLASH_SM90A)
  constexpr int kMaxDevices = 64;
  static std::atomic<int> cached[kMaxDevices] = {};  // 0 unknown, 1 yes, 2 no
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return false;
  int state = cached[device].load(std::memory_order_relaxed);
  if (state == 0) {
    int major = 0, minor = 0;
    const bool ok =
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
    state = ok && major == 9 && minor == 0 ? 1 : 2;
    cached[device].store(state, std::memory_order_relaxed);
  }
  return state == 1;
#else
  return false;
#endif
}

int flash_variant_count() {
  return kNumVariants;
}

const char* flash_variant_name(int variant) {
  return variant >= 0 && variant < kNumVariants ? kVariants[variant].name : "none";
}

bool flash_variant_supports(int variant, const BlockAttentionArgs& a) {
  return variant >= 0 && variant < kNumVariants && shape_supported(a) &&
         kVariants[variant].head_dim == a.head_dim &&
         (a.mask != MaskKind::terms || kVariants[variant].tile_lists) &&
         (!kVariants[variant].needs_sm90a || flash_wgmma_available());
}

int flash_default_variant(const BlockAttentionArgs& a) {
  if (!shape_supported(a)) return -1;
  // Bn176 tiles where no TileList walk is needed (flash_kernel_check --bench measured each)
  const int d128 = a.mask == MaskKind::terms ? kWgmmaD128 : kWgmmaD128N176;
  if (a.head_dim == 128) return flash_wgmma_available() ? d128 : kMmaD128;
  if (a.head_dim == 64) return flash_wgmma_available() ? kWgmmaD64 : kMmaD64;
  return -1;
}

bool flash_supports(const BlockAttentionArgs& a) {
  return flash_default_variant(a) >= 0;
}

void flash_attend_merge_variant(int variant, const BlockAttentionArgs& a, cudaStream_t stream) {
  if (!flash_variant_supports(variant, a))
    throw std::runtime_error(std::string("flash_attend_merge: variant '") +
                             flash_variant_name(variant) + "' does not support these arguments");
  kVariants[variant].launch(make_params(a), a.type, a.batch, stream);
}

void flash_attend_merge(const BlockAttentionArgs& a, cudaStream_t stream) {
  const int variant = flash_default_variant(a);
  if (variant < 0)
    throw std::runtime_error("flash_attend_merge: unsupported arguments (see flash_supports)");
  kVariants[variant].launch(make_params(a), a.type, a.batch, stream);
}

}  // namespace ringbench::cuda
