// The flash library's one error-checking idiom for CUDA runtime calls and launches (kernels,
// references, checks): a std::runtime_error naming the file, the line and CUDA's own message.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define FLASH_CUDA_CHECK(expr)                                                                 \
  do {                                                                                         \
    const cudaError_t flash_err_ = (expr);                                                     \
    if (flash_err_ != cudaSuccess)                                                             \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + \
                               cudaGetErrorString(flash_err_));                                \
  } while (0)
#define FLASH_CHECK_LAUNCH() FLASH_CUDA_CHECK(cudaGetLastError())
