//===- CudaBackend.cu - CUDA memory, streams and copy tickets ---*- C++ -*-===//
//
// HBM pool: cudaMalloc. DRAM pool: cudaHostAlloc(mapped) by default,
// malloc + cudaHostRegister(mapped) with KVRT_FLAG_DRAM_REGISTER, or plain
// malloc read through the system page tables (GH200, NVLink-C2C) with
// KVRT_FLAG_DRAM_SYSTEM_MEMORY. One compute stream and one copy stream per
// direction; each copy records an event, kept in a per-direction FIFO, so a
// ticket is complete once its direction's watermark passed it.
//
// A context is used by one host thread at a time.
//
//===----------------------------------------------------------------------===//
#include "CudaBackend.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

using namespace kvrt;

namespace {

class CudaBackend final : public Backend {
public:
  explicit CudaBackend(const kvrt_context_options &options)
      : options(options) {}

  kvrt_status init() {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0)
      return fail(KVRT_ERR_UNSUPPORTED, "no usable CUDA device: %s",
                  err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    if (options.device < 0 || options.device >= count)
      return fail(KVRT_ERR_INVALID_ARGUMENT,
                  "CUDA device %d does not exist (%d devices)", options.device,
                  count);
    KVRT_CUDA_TRY(cudaSetDevice(options.device));
    KVRT_CUDA_TRY(cudaDeviceGetAttribute(
        &numSMs, cudaDevAttrMultiProcessorCount, options.device));
    if (options.flags & KVRT_FLAG_DRAM_SYSTEM_MEMORY) {
      int pageable = 0;
      KVRT_CUDA_TRY(cudaDeviceGetAttribute(
          &pageable, cudaDevAttrPageableMemoryAccess, options.device));
      if (!pageable)
        return fail(KVRT_ERR_UNSUPPORTED,
                    "KVRT_FLAG_DRAM_SYSTEM_MEMORY needs a device that reads "
                    "pageable system memory (GH200-class); this one does not");
    }
    KVRT_CUDA_TRY(cudaStreamCreateWithFlags(&compute, cudaStreamNonBlocking));
    for (cudaStream_t &s : copy)
      KVRT_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    KVRT_CUDA_TRY(cudaEventCreateWithFlags(&fence, cudaEventDisableTiming));
    return KVRT_OK;
  }

  ~CudaBackend() override {
    if (compute)
      synchronize();
    for (auto &q : pending)
      for (auto &p : q)
        cudaEventDestroy(p.event);
    for (cudaEvent_t e : freeEvents)
      cudaEventDestroy(e);
    if (fence)
      cudaEventDestroy(fence);
    for (cudaStream_t s : copy)
      if (s)
        cudaStreamDestroy(s);
    if (compute)
      cudaStreamDestroy(compute);
  }

  kvrt_backend kind() const override { return KVRT_BACKEND_CUDA; }

  kvrt_status allocPool(kvrt_tier tier, size_t bytes, char **kernelBase,
                        char **hostBase) override {
    *kernelBase = *hostBase = nullptr;
    uint64_t limit = tier == KVRT_TIER_HBM ? options.hbm_limit_bytes
                                           : options.dram_limit_bytes;
    const char *name = tier == KVRT_TIER_HBM ? "HBM" : "DRAM";
    if (limit && bytes > limit)
      return fail(KVRT_ERR_ALLOCATION,
                  "%s pool of %zu bytes exceeds the configured limit of %llu "
                  "bytes",
                  name, bytes, static_cast<unsigned long long>(limit));
    if (!bytes)
      return KVRT_OK;
    if (tier == KVRT_TIER_HBM) {
      void *p = nullptr;
      cudaError_t err = cudaMalloc(&p, bytes);
      if (err != cudaSuccess) {
        cudaGetLastError();
        return fail(KVRT_ERR_ALLOCATION,
                    "cudaMalloc of a %zu-byte HBM pool: %s", bytes,
                    cudaGetErrorString(err));
      }
      KVRT_CUDA_TRY(cudaMemset(p, 0, bytes));
      *kernelBase = static_cast<char *>(p);
      return KVRT_OK;
    }
    void *host = nullptr, *device = nullptr;
    if (options.flags &
        (KVRT_FLAG_DRAM_SYSTEM_MEMORY | KVRT_FLAG_DRAM_REGISTER)) {
      host = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
      if (!host)
        return fail(KVRT_ERR_ALLOCATION,
                    "malloc of a %zu-byte DRAM pool failed", bytes);
      std::memset(host, 0, bytes);
      if (options.flags & KVRT_FLAG_DRAM_SYSTEM_MEMORY) {
        device = host;
      } else {
        cudaError_t err = cudaHostRegister(
            host, bytes, cudaHostRegisterMapped | cudaHostRegisterPortable);
        if (err == cudaSuccess)
          err = cudaHostGetDevicePointer(&device, host, 0);
        if (err != cudaSuccess) {
          cudaGetLastError();
          cudaHostUnregister(host);
          std::free(host);
          return fail(KVRT_ERR_ALLOCATION,
                      "cudaHostRegister of a %zu-byte DRAM pool: %s", bytes,
                      cudaGetErrorString(err));
        }
      }
    } else {
      cudaError_t err = cudaHostAlloc(
          &host, bytes, cudaHostAllocMapped | cudaHostAllocPortable);
      if (err == cudaSuccess)
        err = cudaHostGetDevicePointer(&device, host, 0);
      if (err != cudaSuccess) {
        cudaGetLastError();
        if (host)
          cudaFreeHost(host);
        return fail(KVRT_ERR_ALLOCATION,
                    "cudaHostAlloc of a %zu-byte pinned DRAM pool: %s", bytes,
                    cudaGetErrorString(err));
      }
      std::memset(host, 0, bytes);
    }
    *kernelBase = static_cast<char *>(device);
    *hostBase = static_cast<char *>(host);
    return KVRT_OK;
  }

  void freePool(kvrt_tier tier, char *kernelBase, char *hostBase) override {
    if (tier == KVRT_TIER_HBM) {
      if (kernelBase)
        cudaFree(kernelBase);
      return;
    }
    if (!hostBase)
      return;
    if (options.flags & KVRT_FLAG_DRAM_SYSTEM_MEMORY) {
      std::free(hostBase);
    } else if (options.flags & KVRT_FLAG_DRAM_REGISTER) {
      cudaHostUnregister(hostBase);
      std::free(hostBase);
    } else {
      cudaFreeHost(hostBase);
    }
  }

  kvrt_status allocBuffer(size_t bytes, void **out) override {
    cudaError_t err = cudaMalloc(out, bytes);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return fail(KVRT_ERR_ALLOCATION, "cudaMalloc of %zu bytes: %s", bytes,
                  cudaGetErrorString(err));
    }
    return KVRT_OK;
  }
  void freeBuffer(void *buffer) override {
    cudaStreamSynchronize(compute);
    cudaFree(buffer);
  }
  kvrt_status upload(void *dst, const void *src, size_t bytes) override {
    KVRT_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, compute));
    KVRT_CUDA_TRY(cudaStreamSynchronize(compute));
    return KVRT_OK;
  }
  kvrt_status download(void *dst, const void *src, size_t bytes) override {
    KVRT_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, compute));
    KVRT_CUDA_TRY(cudaStreamSynchronize(compute));
    return KVRT_OK;
  }

  kvrt_status fenceCompute() override {
    KVRT_CUDA_TRY(cudaEventRecord(fence, compute));
    for (cudaStream_t s : copy)
      KVRT_CUDA_TRY(cudaStreamWaitEvent(s, fence, 0));
    return KVRT_OK;
  }

  kvrt_status enqueueCopy(kvrt_direction direction, void *dst, const void *src,
                          size_t bytes, const kvrt_handle *deps, size_t numDeps,
                          kvrt_handle *ticket) override {
    cudaStream_t stream = copy[direction];
    for (size_t i = 0; i < numDeps; ++i) {
      kvrt_handle d = deps[i];
      // Same-direction dependencies hold by stream order.
      if (!d || ticketDirection(d) == direction || isComplete(d))
        continue;
      if (cudaEvent_t e = eventOf(d))
        KVRT_CUDA_TRY(cudaStreamWaitEvent(stream, e, 0));
    }
    KVRT_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream));
    cudaEvent_t event;
    KVRT_TRY(takeEvent(&event));
    KVRT_CUDA_TRY(cudaEventRecord(event, stream));
    *ticket = (nextId++ << 1) | static_cast<kvrt_handle>(direction);
    pending[direction].push_back({*ticket, event});
    lastIssued[direction] = *ticket;
    return KVRT_OK;
  }

  bool isComplete(kvrt_handle ticket) override {
    if (!ticket)
      return true;
    kvrt_direction d = ticketDirection(ticket);
    if (done[d] >= ticket)
      return true;
    poll(d);
    return done[d] >= ticket;
  }

  bool isIssued(kvrt_handle ticket) override {
    return !ticket || ticket <= lastIssued[ticketDirection(ticket)];
  }

  kvrt_status hostWait(kvrt_handle ticket) override {
    if (isComplete(ticket))
      return KVRT_OK;
    if (cudaEvent_t e = eventOf(ticket))
      KVRT_CUDA_TRY(cudaEventSynchronize(e));
    poll(ticketDirection(ticket));
    return KVRT_OK;
  }

  kvrt_status computeWait(kvrt_handle ticket) override {
    if (isComplete(ticket))
      return KVRT_OK;
    if (cudaEvent_t e = eventOf(ticket))
      KVRT_CUDA_TRY(cudaStreamWaitEvent(compute, e, 0));
    return KVRT_OK;
  }

  kvrt_status synchronize() override {
    KVRT_CUDA_TRY(cudaStreamSynchronize(compute));
    for (cudaStream_t s : copy)
      KVRT_CUDA_TRY(cudaStreamSynchronize(s));
    poll(KVRT_PROMOTE);
    poll(KVRT_DEMOTE);
    KVRT_CUDA_TRY(cudaGetLastError());
    return KVRT_OK;
  }

  kvrt_status makeKernels(const CacheGeometry &geometry,
                          std::unique_ptr<CacheKernels> &out) override {
    return makeCudaKernels(geometry, compute, numSMs, out);
  }

private:
  struct Pending {
    kvrt_handle ticket;
    cudaEvent_t event;
  };

  /// Retires completed copies of a direction, in order.
  void poll(kvrt_direction d) {
    std::deque<Pending> &q = pending[d];
    while (!q.empty() && cudaEventQuery(q.front().event) == cudaSuccess) {
      done[d] = q.front().ticket;
      freeEvents.push_back(q.front().event);
      q.pop_front();
    }
  }

  /// The event of a pending ticket, null if it is not pending.
  cudaEvent_t eventOf(kvrt_handle ticket) {
    std::deque<Pending> &q = pending[ticketDirection(ticket)];
    size_t lo = 0, hi = q.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (q[mid].ticket < ticket)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < q.size() && q[lo].ticket == ticket ? q[lo].event : nullptr;
  }

  kvrt_status takeEvent(cudaEvent_t *out) {
    if (!freeEvents.empty()) {
      *out = freeEvents.back();
      freeEvents.pop_back();
      return KVRT_OK;
    }
    KVRT_CUDA_TRY(cudaEventCreateWithFlags(out, cudaEventDisableTiming));
    return KVRT_OK;
  }

  kvrt_context_options options;
  int numSMs = 1;
  cudaStream_t compute = nullptr;
  cudaStream_t copy[2] = {nullptr, nullptr};
  cudaEvent_t fence = nullptr;
  std::deque<Pending> pending[2];
  std::vector<cudaEvent_t> freeEvents;
  kvrt_handle done[2] = {0, 0};
  kvrt_handle lastIssued[2] = {0, 0};
  uint64_t nextId = 1;
};

} // namespace

kvrt_status kvrt::createCudaBackend(const kvrt_context_options &options,
                                    std::unique_ptr<Backend> &out) {
  auto backend = std::make_unique<CudaBackend>(options);
  KVRT_TRY(backend->init());
  out = std::move(backend);
  return KVRT_OK;
}

extern "C" int kvrt_have_cuda(void) { return 1; }
