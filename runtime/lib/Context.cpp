//===- Context.cpp - Context creation and device buffers --------*- C++ -*-===//
//
// The C entry points of kvrt/context.h.
//
//===----------------------------------------------------------------------===//
#include "CacheImpl.h"
#include "Error.h"

#include <new>

using namespace kvrt;

extern "C" void kvrt_context_options_init(kvrt_context_options *options) {
  if (!options)
    return;
  *options = kvrt_context_options{};
  options->backend = KVRT_BACKEND_HOST;
}

extern "C" kvrt_status kvrt_context_create(const kvrt_context_options *options,
                                           kvrt_context **out) {
  if (!options || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_context_create: null options or output pointer");
  *out = nullptr;
  if (options->flags &
      ~(KVRT_FLAG_DRAM_SYSTEM_MEMORY | KVRT_FLAG_DRAM_REGISTER))
    return fail(KVRT_ERR_INVALID_ARGUMENT, "unknown context flags 0x%x",
                options->flags);
  if ((options->flags & KVRT_FLAG_DRAM_SYSTEM_MEMORY) &&
      (options->flags & KVRT_FLAG_DRAM_REGISTER))
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "KVRT_FLAG_DRAM_SYSTEM_MEMORY and KVRT_FLAG_DRAM_REGISTER "
                "exclude each other");
  std::unique_ptr<Backend> backend;
  switch (options->backend) {
  case KVRT_BACKEND_HOST:
    KVRT_TRY(createHostBackend(*options, backend));
    break;
  case KVRT_BACKEND_CUDA:
    KVRT_TRY(createCudaBackend(*options, backend));
    break;
  default:
    return fail(KVRT_ERR_INVALID_ARGUMENT, "unknown backend %d",
                static_cast<int>(options->backend));
  }
  auto *context = new (std::nothrow) kvrt_context;
  if (!context)
    return fail(KVRT_ERR_ALLOCATION, "cannot allocate a context");
  context->options = *options;
  context->backend = std::move(backend);
  *out = context;
  return KVRT_OK;
}

extern "C" void kvrt_context_destroy(kvrt_context *context) {
  if (!context)
    return;
  context->backend->synchronize();
  delete context;
}

extern "C" kvrt_backend kvrt_context_backend(const kvrt_context *context) {
  return context ? context->options.backend : KVRT_BACKEND_HOST;
}

extern "C" kvrt_status kvrt_buffer_alloc(kvrt_context *context, size_t bytes,
                                         void **out) {
  if (!context || !out || !bytes)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_buffer_alloc: null context/output or zero size");
  return context->backend->allocBuffer(bytes, out);
}

extern "C" void kvrt_buffer_free(kvrt_context *context, void *buffer) {
  if (context && buffer)
    context->backend->freeBuffer(buffer);
}

extern "C" kvrt_status kvrt_buffer_upload(kvrt_context *context, void *dst,
                                          const void *src, size_t bytes) {
  if (!context || !dst || !src)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "kvrt_buffer_upload: null argument");
  return context->backend->upload(dst, src, bytes);
}

extern "C" kvrt_status kvrt_buffer_download(kvrt_context *context, void *dst,
                                            const void *src, size_t bytes) {
  if (!context || !dst || !src)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_buffer_download: null argument");
  return context->backend->download(dst, src, bytes);
}
