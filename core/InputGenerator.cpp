#include "core/InputGenerator.hpp"

#include <stdexcept>

#include "core/InputHash.hpp"
#include "core/Numeric.hpp"

namespace ringbench {

std::int64_t heads_of(TensorRole role, const ProblemSpec& spec) {
  return role == TensorRole::q || role == TensorRole::d_o ? spec.heads : spec.effective_kv_heads();
}

float input_value(TensorRole role, std::uint64_t seed, const ProblemSpec& spec, std::int64_t b,
                  std::int64_t h, std::int64_t position, std::int64_t d) {
  return round_to(spec.dtype, input_unit_value(static_cast<std::uint32_t>(role), seed,
                                               b * heads_of(role, spec) + h, position, d));
}

void generate_tensor(TensorRole role, std::uint64_t seed, const ProblemSpec& spec,
                     std::span<const std::int64_t> positions, std::span<float> out) {
  const std::int64_t heads = heads_of(role, spec);
  const auto n = static_cast<std::int64_t>(positions.size());
  if (static_cast<std::int64_t>(out.size()) != spec.batch * heads * n * spec.head_dim)
    throw std::invalid_argument("generate_tensor: output size does not match the shape");
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < spec.batch; ++b)
    for (std::int64_t h = 0; h < heads; ++h) {
      float* row = out.data() + ((b * heads + h) * n) * spec.head_dim;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t d = 0; d < spec.head_dim; ++d)
          row[i * spec.head_dim + d] = input_value(role, seed, spec, b, h, positions[i], d);
    }
}

void generate_kv_block(std::uint64_t seed, const ProblemSpec& spec,
                       std::span<const std::int64_t> positions, std::span<float> kv) {
  const std::size_t half = kv.size() / 2;
  generate_tensor(TensorRole::k, seed, spec, positions, kv.first(half));
  generate_tensor(TensorRole::v, seed, spec, positions, kv.subspan(half, half));
}

void generate_kv_rows(std::uint64_t seed, const ProblemSpec& spec,
                      std::span<const std::int64_t> positions, std::span<const RowSelection> rows,
                      std::span<float> kv) {
  const std::int64_t heads = spec.effective_kv_heads(), D = spec.head_dim;
  const auto n = static_cast<std::int64_t>(positions.size());
  const std::size_t half = kv.size() / 2;
  for (const TensorRole role : {TensorRole::k, TensorRole::v}) {
    float* out = kv.data() + (role == TensorRole::k ? 0 : half);
    for (const RowSelection& sel : rows)
      for (std::int64_t b = 0; b < spec.batch; ++b)
        for (std::int64_t h = 0; h < heads; ++h)
          for (std::int64_t j = 0; j < sel.count; ++j) {
            const std::int64_t i = sel.first + j * sel.stride;
            float* row = out + ((b * heads + h) * n + i) * D;
            for (std::int64_t d = 0; d < D; ++d)
              row[d] = input_value(role, seed, spec, b, h, positions[i], d);
          }
  }
}

}  // namespace ringbench
