// The CUDA and NCCL flavours of the project's error-check idiom: the library's own message, the
// call, file and line, thrown as LibraryError.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <string>

#include "core/Error.hpp"

#define RINGBENCH_CHECK_CUDA(call)                                                           \
  do {                                                                                       \
    const cudaError_t rb_err_ = (call);                                                      \
    if (rb_err_ != cudaSuccess)                                                              \
      ::ringbench::throw_library_error("CUDA", #call, cudaGetErrorString(rb_err_), __FILE__, \
                                       __LINE__);                                            \
  } while (0)

#define RINGBENCH_CHECK_NCCL(call)                                                               \
  do {                                                                                           \
    const ncclResult_t rb_res_ = (call);                                                         \
    if (rb_res_ != ncclSuccess && rb_res_ != ncclInProgress)                                     \
      ::ringbench::throw_library_error(                                                          \
          "NCCL", #call,                                                                         \
          std::string(ncclGetErrorString(rb_res_)) + ": " + ncclGetLastError(nullptr), __FILE__, \
          __LINE__);                                                                             \
  } while (0)
