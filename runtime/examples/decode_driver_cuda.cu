//===- decode_driver_cuda.cu - The example driver built by nvcc -*- CUDA
//-*-===//
//
// The same source as decode_driver.c, compiled as CUDA C++ like an emitted
// .cu driver; run with `kvrt-example-driver-cuda cuda` on a GPU machine.
//
//===----------------------------------------------------------------------===//
#include "decode_driver.c"
