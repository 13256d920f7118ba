// The table rank 0 prints, nccl-tests style: a header once, then one row per case as it finishes.
#pragma once

#include <cstdio>

#include "core/RunRecord.hpp"

namespace ringbench {

void print_table_header(std::FILE* out);
void print_table_row(std::FILE* out, const RunRecord& run);

}  // namespace ringbench
