//===- CudaBackend.h - Internals shared by the CUDA sources -----*- C++ -*-===//
//
// Error checking for CUDA calls and the factory of the per-cache kernels.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_CUDABACKEND_H
#define KVRT_LIB_CUDABACKEND_H

#include "Backend.h"
#include "Error.h"

#include <cuda_runtime.h>

/// Returns KVRT_ERR_BACKEND from the enclosing function when a CUDA call
/// fails, naming the call.
#define KVRT_CUDA_TRY(expr)                                                    \
  do {                                                                         \
    cudaError_t kvrtCudaErr_ = (expr);                                         \
    if (kvrtCudaErr_ != cudaSuccess)                                           \
      return ::kvrt::fail(KVRT_ERR_BACKEND, "%s failed: %s (%s:%d)", #expr,    \
                          cudaGetErrorString(kvrtCudaErr_), __FILE__,          \
                          __LINE__);                                           \
  } while (0)

namespace kvrt {

/// Kernels of one cache, issued on `compute`.
kvrt_status makeCudaKernels(const CacheGeometry &geometry, cudaStream_t compute,
                            int numSMs, std::unique_ptr<CacheKernels> &out);

} // namespace kvrt

#endif // KVRT_LIB_CUDABACKEND_H
