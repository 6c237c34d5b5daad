//===- Backend.h - Interface of the host and CUDA backends ------*- C++ -*-===//
//
// A Backend owns memory and the copy engine of a context; a CacheKernels
// object owns the compute of one cache (attention, appends, fills, block
// reads and writes). The cache bookkeeping (block tables, free slots,
// ordering tickets) lives above both, in Cache.cpp and Migration.cpp, so the
// two backends share every ordering decision and differ only in mechanism.
//
// Tickets: every copy gets a handle (id << 1 | direction). Each direction is
// a FIFO (a CUDA stream, a worker thread), so a ticket is complete once the
// direction's completion watermark reached it.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_BACKEND_H
#define KVRT_LIB_BACKEND_H

#include "kvrt/kvrt.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace kvrt {

/// Block-table entry: tier in the top bit, slot below.
inline uint32_t packEntry(kvrt_tier tier, uint32_t slot) {
  return (static_cast<uint32_t>(tier) << 31) | slot;
}
inline kvrt_tier entryTier(uint32_t entry) {
  return static_cast<kvrt_tier>(entry >> 31);
}
inline uint32_t entrySlot(uint32_t entry) { return entry & 0x7fffffffu; }

inline kvrt_direction ticketDirection(kvrt_handle ticket) {
  return static_cast<kvrt_direction>(ticket & 1u);
}

/// Everything a kernel needs to address blocks.
struct CacheGeometry {
  kvrt_cache_config config;
  size_t elemSize = 0;
  size_t slotBytes = 0;
  uint32_t blocksPerLayer = 0;
  uint32_t maxTokens = 0;
  float scale = 1.0f;
  /// Pool bases as the kernels see them (device-accessible on CUDA).
  char *base[KVRT_NUM_TIERS] = {nullptr, nullptr};
  /// Pool bases as the host sees them (null when not host-accessible).
  char *hostBase[KVRT_NUM_TIERS] = {nullptr, nullptr};
};

/// A layer's block table and the sequence lengths, with change counters so
/// a backend keeping device copies uploads them only when they changed.
struct KernelInputs {
  uint32_t layer = 0;
  const uint32_t *table = nullptr;
  uint64_t tableVersion = 0;
  const uint32_t *lens = nullptr;
  uint64_t lensVersion = 0;
  /// Sliding window of the layer in tokens (0 = global): attention at
  /// length n reads tokens [windowStart(window, n), n) plus the appended one.
  uint32_t window = 0;
  /// Per block of the layer, 1 = dead (left the window; its slot may belong
  /// to another block now); null when the layer has no dead block.
  const uint8_t *dead = nullptr;
};

/// First token a layer with `window` tokens (0 = global) reads when its
/// sequence holds `len` cached tokens: the window covers the `window` most
/// recent cached tokens [len - window, len), token-exact, plus the token
/// appended in the step (docs/model.md, "Sliding-window (local) layers").
inline uint32_t windowStart(uint32_t window, uint32_t len) {
  return window && len > window ? len - window : 0;
}

/// Compute of one cache, issued in order on the backend's compute stream.
class CacheKernels {
public:
  virtual ~CacheKernels() = default;
  /// Appends (if kNew) and attends; see kvrt_attention_step.
  virtual kvrt_status attention(const KernelInputs &in, const float *q,
                                const float *kNew, const float *vNew,
                                float *out) = 0;
  /// Fills all blocks of a layer from the generator (zeros past lengths).
  virtual kvrt_status fillLayer(const KernelInputs &in, uint64_t seed) = 0;
  /// Synchronous block read after all earlier compute.
  virtual kvrt_status readSlot(kvrt_tier tier, uint32_t slot, void *dst) = 0;
  /// Block write ordered on the compute stream (synchronous on return).
  virtual kvrt_status writeSlot(kvrt_tier tier, uint32_t slot,
                                const void *src) = 0;
};

/// Memory and copies of a context.
class Backend {
public:
  virtual ~Backend() = default;
  virtual kvrt_backend kind() const = 0;

  /// Allocates a zeroed pool; *kernelBase is what kernels use, *hostBase
  /// what the host may touch directly (null if it may not).
  virtual kvrt_status allocPool(kvrt_tier tier, size_t bytes, char **kernelBase,
                                char **hostBase) = 0;
  virtual void freePool(kvrt_tier tier, char *kernelBase, char *hostBase) = 0;

  virtual kvrt_status allocBuffer(size_t bytes, void **out) = 0;
  virtual void freeBuffer(void *buffer) = 0;
  virtual kvrt_status upload(void *dst, const void *src, size_t bytes) = 0;
  virtual kvrt_status download(void *dst, const void *src, size_t bytes) = 0;

  /// Makes the copies enqueued from now on start after all compute issued
  /// so far (so they see appends and no kernel still reads their source).
  virtual kvrt_status fenceCompute() = 0;
  /// Enqueues an asynchronous copy on `direction`'s FIFO; it starts after
  /// every ticket in deps completed.
  virtual kvrt_status enqueueCopy(kvrt_direction direction, void *dst,
                                  const void *src, size_t bytes,
                                  const kvrt_handle *deps, size_t numDeps,
                                  kvrt_handle *ticket) = 0;
  virtual bool isComplete(kvrt_handle ticket) = 0;
  /// True for 0 and for tickets this backend handed out.
  virtual bool isIssued(kvrt_handle ticket) = 0;
  /// Blocks the host until the ticket completed.
  virtual kvrt_status hostWait(kvrt_handle ticket) = 0;
  /// Makes compute issued from now on wait for the ticket.
  virtual kvrt_status computeWait(kvrt_handle ticket) = 0;
  /// Blocks until all compute and copies completed.
  virtual kvrt_status synchronize() = 0;

  virtual kvrt_status makeKernels(const CacheGeometry &geometry,
                                  std::unique_ptr<CacheKernels> &out) = 0;
};

/// Factories; createCudaBackend fails with KVRT_ERR_UNSUPPORTED when CUDA is
/// not built in or no device is usable.
kvrt_status createHostBackend(const kvrt_context_options &options,
                              std::unique_ptr<Backend> &out);
kvrt_status createCudaBackend(const kvrt_context_options &options,
                              std::unique_ptr<Backend> &out);

} // namespace kvrt

#endif // KVRT_LIB_BACKEND_H
