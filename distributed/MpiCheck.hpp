// The MPI flavour of the project's error-check idiom: the library's own error string, the call,
// file and line. Communicators are set to MPI_ERRORS_RETURN so errors arrive here.
#pragma once

#include <mpi.h>

#include <string>

#include "core/Error.hpp"

namespace ringbench {

inline std::string mpi_error_message(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, static_cast<std::size_t>(len));
}

}  // namespace ringbench

#define RINGBENCH_CHECK_MPI(call)                                                              \
  do {                                                                                         \
    const int rb_code_ = (call);                                                               \
    if (rb_code_ != MPI_SUCCESS)                                                               \
      ::ringbench::throw_library_error("MPI", #call, ::ringbench::mpi_error_message(rb_code_), \
                                       __FILE__, __LINE__);                                    \
  } while (0)
