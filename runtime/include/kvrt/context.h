/*===- kvrt/context.h - Runtime context and device buffers -------*- C -*-===*\
|*                                                                            *|
|* A context owns a backend: on CUDA one compute stream and two copy streams  *|
|* (host-to-device, device-to-host); on the host backend two copy worker      *|
|* threads. Caches are created inside a context.                              *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_CONTEXT_H
#define KVRT_CONTEXT_H

#include "kvrt/status.h"
#include "kvrt/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kvrt_context kvrt_context;

/// The DRAM pool is plain malloc'd system memory read by the GPU through
/// the system page tables (GH200-class machines with NVLink-C2C/ATS).
#define KVRT_FLAG_DRAM_SYSTEM_MEMORY 0x1u
/// The DRAM pool is malloc'd and then pinned with cudaHostRegister (mapped)
/// instead of allocated with cudaHostAlloc.
#define KVRT_FLAG_DRAM_REGISTER 0x2u

/// Options of a context. Initialise with kvrt_context_options_init.
typedef struct kvrt_context_options {
  kvrt_backend backend;
  /// CUDA device ordinal (CUDA backend only).
  int device;
  /// KVRT_FLAG_* bits.
  uint32_t flags;
  /// When nonzero, a tier pool larger than this fails with
  /// KVRT_ERR_ALLOCATION (models a smaller device; used by tests).
  uint64_t hbm_limit_bytes;
  uint64_t dram_limit_bytes;
  /// Host backend test mode: each copy sleeps a random 0..max microseconds
  /// before running, so missing ordering would corrupt data visibly.
  uint32_t copy_delay_max_us;
  /// Seed of those delays.
  uint64_t delay_seed;
} kvrt_context_options;

/// Default options: host backend, device 0, no flags, no limits, no delays.
void kvrt_context_options_init(kvrt_context_options *options);

/// Creates a context. Fails with KVRT_ERR_UNSUPPORTED for the CUDA backend
/// when the library was built without CUDA or no device is present.
kvrt_status kvrt_context_create(const kvrt_context_options *options,
                                kvrt_context **out);

/// Waits for all outstanding work and frees the context. Caches created in
/// it must be destroyed first. Null is ignored.
void kvrt_context_destroy(kvrt_context *context);

/// The backend of a context.
kvrt_backend kvrt_context_backend(const kvrt_context *context);

/// True when the library was built with the CUDA backend.
int kvrt_have_cuda(void);

/// Allocates `bytes` of memory the backend's kernels read and write (device
/// memory on CUDA, host memory on the host backend) for queries, new K/V
/// values and outputs.
kvrt_status kvrt_buffer_alloc(kvrt_context *context, size_t bytes, void **out);
/// Frees a buffer from kvrt_buffer_alloc (null is ignored).
void kvrt_buffer_free(kvrt_context *context, void *buffer);
/// Copies host memory into a buffer, ordered after earlier compute.
kvrt_status kvrt_buffer_upload(kvrt_context *context, void *dst,
                               const void *src, size_t bytes);
/// Copies a buffer to host memory after all earlier compute finished.
kvrt_status kvrt_buffer_download(kvrt_context *context, void *dst,
                                 const void *src, size_t bytes);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_CONTEXT_H */
