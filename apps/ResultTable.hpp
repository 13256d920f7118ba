// The table rank 0 prints, nccl-tests style: a header once, then one row per case as it finishes.
#pragma once

#include <cstdio>
#include <string>

#include "core/RunRecord.hpp"

namespace ringbench {

void print_table_header(std::FILE* out);
void print_table_row(std::FILE* out, const RunRecord& run);

// Cells the kernels table shares: the kernels of the timed passes ("fwd+bwd" where two ran), a
// pass's median time ("fwd_" or "bwd_"; "-" when not timed), the largest gradient error ("n/a"
// without a gradient check).
std::string kernel_of(const RunRecord& run);
std::string pass_ms(const RunRecord& run, const std::string& prefix);
std::string gradient_error(const RunRecord& run);

}  // namespace ringbench
