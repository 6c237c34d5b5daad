//===- CudaStub.cpp - CUDA backend entry when CUDA is not built -*- C++ -*-===//
//
// Built instead of CudaBackend.cu when nvcc is unavailable.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Error.h"

kvrt_status kvrt::createCudaBackend(const kvrt_context_options &,
                                    std::unique_ptr<Backend> &) {
  return fail(KVRT_ERR_UNSUPPORTED,
              "this kvrt library was built without the CUDA backend");
}

extern "C" int kvrt_have_cuda(void) { return 0; }
