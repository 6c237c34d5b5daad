//===- HostBackend.cpp - CPU backend: malloc'd pools, copy workers -*- C++
//-*-===//
//
// The host backend executes the same ordering protocol as the CUDA backend:
// one FIFO copy worker thread per direction (standing in for the two copy
// streams), cross-direction dependencies by ticket, and compute that runs
// synchronously on the calling thread (so "after earlier compute" holds by
// construction). In test mode each copy first sleeps a random time, so a
// missing dependency shows up as corrupted blocks.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Error.h"
#include "HostKernels.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

using namespace kvrt;

namespace {

struct CopyOp {
  void *dst;
  const void *src;
  size_t bytes;
  kvrt_handle deps[KVRT_NUM_TIERS];
  kvrt_handle ticket;
};

class HostBackend final : public Backend {
public:
  explicit HostBackend(const kvrt_context_options &options) : options(options) {
    for (int d = 0; d < 2; ++d) {
      workers[d].rng.seed(options.delay_seed * 2 + d + 1);
      workers[d].thread = std::thread([this, d] { run(d); });
    }
  }

  ~HostBackend() override {
    synchronize();
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    cv.notify_all();
    for (auto &w : workers)
      w.thread.join();
  }

  kvrt_backend kind() const override { return KVRT_BACKEND_HOST; }

  kvrt_status allocPool(kvrt_tier tier, size_t bytes, char **kernelBase,
                        char **hostBase) override {
    uint64_t limit = tier == KVRT_TIER_HBM ? options.hbm_limit_bytes
                                           : options.dram_limit_bytes;
    if (limit && bytes > limit)
      return fail(KVRT_ERR_ALLOCATION,
                  "%s pool of %zu bytes exceeds the configured limit of "
                  "%llu bytes",
                  tier == KVRT_TIER_HBM ? "HBM" : "DRAM", bytes,
                  static_cast<unsigned long long>(limit));
    void *p = std::calloc(bytes ? bytes : 1, 1);
    if (!p)
      return fail(KVRT_ERR_ALLOCATION, "cannot allocate a %s pool of %zu bytes",
                  tier == KVRT_TIER_HBM ? "HBM" : "DRAM", bytes);
    *kernelBase = *hostBase = static_cast<char *>(p);
    return KVRT_OK;
  }

  void freePool(kvrt_tier, char *kernelBase, char *) override {
    std::free(kernelBase);
  }

  kvrt_status allocBuffer(size_t bytes, void **out) override {
    void *p = std::calloc(bytes ? bytes : 1, 1);
    if (!p)
      return fail(KVRT_ERR_ALLOCATION, "cannot allocate a buffer of %zu bytes",
                  bytes);
    *out = p;
    return KVRT_OK;
  }
  void freeBuffer(void *buffer) override { std::free(buffer); }
  kvrt_status upload(void *dst, const void *src, size_t bytes) override {
    std::memmove(dst, src, bytes);
    return KVRT_OK;
  }
  kvrt_status download(void *dst, const void *src, size_t bytes) override {
    std::memmove(dst, src, bytes);
    return KVRT_OK;
  }

  // Compute is synchronous: everything issued so far already finished.
  kvrt_status fenceCompute() override { return KVRT_OK; }

  kvrt_status enqueueCopy(kvrt_direction direction, void *dst, const void *src,
                          size_t bytes, const kvrt_handle *deps, size_t numDeps,
                          kvrt_handle *ticket) override {
    CopyOp op{dst, src, bytes, {0, 0}, 0};
    for (size_t i = 0; i < numDeps; ++i) {
      kvrt_handle d = deps[i];
      if (!d)
        continue;
      kvrt_handle &slot = op.deps[ticketDirection(d)];
      if (d > slot)
        slot = d;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      op.ticket = (nextId++ << 1) | static_cast<kvrt_handle>(direction);
      workers[direction].queue.push_back(op);
      workers[direction].lastIssued = op.ticket;
    }
    cv.notify_all();
    *ticket = op.ticket;
    return KVRT_OK;
  }

  bool isComplete(kvrt_handle ticket) override {
    std::lock_guard<std::mutex> lock(mutex);
    return completeLocked(ticket);
  }

  bool isIssued(kvrt_handle ticket) override {
    std::lock_guard<std::mutex> lock(mutex);
    // A ticket at or below its direction's newest one completes eventually;
    // anything else would block forever.
    return !ticket || ticket <= workers[ticketDirection(ticket)].lastIssued;
  }

  kvrt_status hostWait(kvrt_handle ticket) override {
    if (!ticket)
      return KVRT_OK;
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return completeLocked(ticket); });
    return KVRT_OK;
  }

  // Compute runs on the calling thread, so it must wait right now.
  kvrt_status computeWait(kvrt_handle ticket) override {
    return hostWait(ticket);
  }

  kvrt_status synchronize() override {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] {
      return workers[0].queue.empty() && workers[1].queue.empty() &&
             !workers[0].busy && !workers[1].busy;
    });
    return KVRT_OK;
  }

  kvrt_status makeKernels(const CacheGeometry &geometry,
                          std::unique_ptr<CacheKernels> &out) override {
    out = makeHostKernels(geometry);
    return KVRT_OK;
  }

private:
  struct Worker {
    std::thread thread;
    std::deque<CopyOp> queue;
    kvrt_handle done = 0;
    kvrt_handle lastIssued = 0;
    bool busy = false;
    std::mt19937_64 rng;
  };

  bool completeLocked(kvrt_handle ticket) const {
    return !ticket || workers[ticketDirection(ticket)].done >= ticket;
  }

  void run(int direction) {
    Worker &w = workers[direction];
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      cv.wait(lock, [&] { return stopping || !w.queue.empty(); });
      if (w.queue.empty())
        return;
      CopyOp op = w.queue.front();
      w.queue.pop_front();
      w.busy = true;
      // Dependencies are always older tickets, so this cannot deadlock.
      cv.wait(lock, [&] {
        return completeLocked(op.deps[0]) && completeLocked(op.deps[1]);
      });
      uint32_t delayUs = 0;
      if (options.copy_delay_max_us)
        delayUs =
            static_cast<uint32_t>(w.rng() % (options.copy_delay_max_us + 1ull));
      lock.unlock();
      if (delayUs)
        std::this_thread::sleep_for(std::chrono::microseconds(delayUs));
      std::memcpy(op.dst, op.src, op.bytes);
      lock.lock();
      w.done = op.ticket;
      w.busy = false;
      cv.notify_all();
    }
  }

  kvrt_context_options options;
  std::mutex mutex;
  std::condition_variable cv;
  Worker workers[2];
  bool stopping = false;
  uint64_t nextId = 1;
};

} // namespace

kvrt_status kvrt::createHostBackend(const kvrt_context_options &options,
                                    std::unique_ptr<Backend> &out) {
  out = std::make_unique<HostBackend>(options);
  return KVRT_OK;
}
