//===- HostKernels.h - CPU attention, appends and fills ---------*- C++ -*-===//
//
// The host backend's compute, the same math as the CUDA kernels: online
// softmax with fp32 accumulation over blocks found through the block table.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_HOSTKERNELS_H
#define KVRT_LIB_HOSTKERNELS_H

#include "Backend.h"

namespace kvrt {

/// Compute for one cache whose pools are host memory.
std::unique_ptr<CacheKernels> makeHostKernels(const CacheGeometry &geometry);

} // namespace kvrt

#endif // KVRT_LIB_HOSTKERNELS_H
