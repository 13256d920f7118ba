# Decides whether the CUDA/NCCL backend is built. AUTO builds it when nvcc and NCCL are found;
# the result is RINGBENCH_CUDA_ENABLED (ON/OFF). A machine without a GPU still compiles and links
# all CUDA code, so CI proves it builds.
set(RINGBENCH_CUDA_ENABLED OFF)
if(NOT RINGBENCH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include /usr/local/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/lib/x86_64-linux-gnu)
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(RINGBENCH_CUDA_ENABLED ON)
  elseif(RINGBENCH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "RINGBENCH_CUDA=ON but the CUDA toolkit (nvcc: '${CMAKE_CUDA_COMPILER}') "
                        "or NCCL (nccl.h: '${NCCL_INCLUDE_DIR}', libnccl: '${NCCL_LIBRARY}') was not found")
  endif()
endif()
if(RINGBENCH_CUDA_ENABLED)
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    # Hopper machine code (90a: wgmma) plus PTX that newer chips compile at load time.
    set(CMAKE_CUDA_ARCHITECTURES "90a-real;90-virtual")
  endif()
  enable_language(CUDA)
  # CMake 3.25 knows no C++20 flag for nvcc; nvcc 12+ accepts -std=c++20.
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  add_library(ringbench_nccl INTERFACE)
  target_include_directories(ringbench_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
  target_link_libraries(ringbench_nccl INTERFACE ${NCCL_LIBRARY})
endif()

# cuDNN fused attention (optional): cuDNN itself plus the header-only cuDNN frontend, found through
# CUDNN_FRONTEND_INCLUDE_DIR, .deps/cudnn-frontend (tools/setup-deps.sh puts the headers of the
# pip wheel nvidia-cudnn-frontend there) or an installed wheel (site-packages/include).
set(RINGBENCH_CUDNN_ENABLED OFF)
set(RINGBENCH_CUDNN_REASON "CUDA backend off")
if(RINGBENCH_CUDA_ENABLED)
  find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include /usr/include/x86_64-linux-gnu)
  find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/lib/x86_64-linux-gnu)
  if(NOT CUDNN_FRONTEND_INCLUDE_DIR)
    find_package(Python3 QUIET COMPONENTS Interpreter)
    if(Python3_Interpreter_FOUND)
      execute_process(COMMAND ${Python3_EXECUTABLE} -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                      OUTPUT_VARIABLE _purelib OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    endif()
  endif()
  find_path(CUDNN_FRONTEND_INCLUDE_DIR cudnn_frontend.h
            HINTS "${PROJECT_SOURCE_DIR}/.deps/cudnn-frontend/include" "${_purelib}/include")
  if(CUDNN_INCLUDE_DIR AND CUDNN_LIBRARY AND CUDNN_FRONTEND_INCLUDE_DIR)
    set(RINGBENCH_CUDNN_ENABLED ON)
    set(RINGBENCH_CUDNN_REASON "frontend ${CUDNN_FRONTEND_INCLUDE_DIR}")
  else()
    set(RINGBENCH_CUDNN_REASON "cudnn.h '${CUDNN_INCLUDE_DIR}', libcudnn '${CUDNN_LIBRARY}', cudnn_frontend.h '${CUDNN_FRONTEND_INCLUDE_DIR}' (pip install nvidia-cudnn-frontend or set CUDNN_FRONTEND_INCLUDE_DIR)")
  endif()
endif()
