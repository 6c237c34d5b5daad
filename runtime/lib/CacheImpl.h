//===- CacheImpl.h - Internal state of contexts and caches ------*- C++ -*-===//
//
// The bookkeeping both backends share: block tables, free slots per tier,
// and the tickets that order reads, writes and slot reuse.
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_CACHEIMPL_H
#define KVRT_LIB_CACHEIMPL_H

#include "Backend.h"

#include <array>
#include <chrono>
#include <set>
#include <vector>

struct kvrt_context {
  kvrt_context_options options;
  std::unique_ptr<kvrt::Backend> backend;
};

struct kvrt_cache {
  /// Slots of one tier.
  struct Tier {
    uint32_t capacity = 0;
    /// Free slots, lowest first (so ranges tend to stay contiguous).
    std::set<uint32_t> freeSlots;
    /// Per slot: the copy reading out of it; the slot may be overwritten
    /// only after this ticket completed.
    std::vector<kvrt_handle> releaseTicket;
  };

  kvrt_context *context = nullptr;
  kvrt::CacheGeometry geometry;
  std::unique_ptr<kvrt::CacheKernels> kernels;
  Tier tiers[KVRT_NUM_TIERS];
  /// Per layer: logical block -> packed (tier, slot).
  std::vector<std::vector<uint32_t>> tables;
  /// Per layer, per block: the copy writing the block's current location.
  std::vector<std::vector<kvrt_handle>> blockTickets;
  /// Per layer: the newest copy ticket of each direction touching it.
  std::vector<std::array<kvrt_handle, 2>> layerTickets;
  std::vector<uint64_t> tableVersions;
  std::vector<uint32_t> lens;
  uint64_t lensVersion = 1;
  kvrt_counters counters{};
  /// Schedule execution (ScheduleExec.cpp): the step of `openSchedule` whose
  /// demotions were issued, and per layer its promotions not yet issued.
  uint64_t openSchedule = 0;
  int64_t openStep = -1;
  std::vector<std::vector<uint32_t>> pendingPromotions;
  /// Sliding windows (ScheduleExec.cpp): per layer, per block, 1 = dead (the
  /// block left its layer's window and gave its slot back); empty until a
  /// windowed schedule kills a block. Per layer the number of dead blocks.
  std::vector<std::vector<uint8_t>> dead;
  std::vector<uint32_t> deadInLayer;
  /// Per layer its sliding window in tokens (0 = global attention): set by
  /// kvrt_cache_set_windows or adopted from a windowed schedule's placement.
  std::vector<uint32_t> windows;
  /// The windowed schedule whose deaths are applied, its deaths in step
  /// order (layer, block, step) and how many of them are applied.
  uint64_t deathSchedule = 0;
  std::vector<std::array<uint32_t, 3>> deaths;
  size_t deathsApplied = 0;
  std::chrono::steady_clock::time_point stepStart;
  bool inStep = false;

  kvrt::Backend &backend() { return *context->backend; }
  bool isDead(uint32_t layer, uint32_t block) const {
    return !dead.empty() && dead[layer][block];
  }
  /// Records the HBM slots in use now in the peak counter.
  void noteHbmUse() {
    const Tier &hbm = tiers[KVRT_TIER_HBM];
    uint64_t used = hbm.capacity - hbm.freeSlots.size();
    if (used > counters.peak_hbm_blocks)
      counters.peak_hbm_blocks = used;
  }
  kvrt::KernelInputs inputs(uint32_t layer) const {
    kvrt::KernelInputs in;
    in.layer = layer;
    in.table = tables[layer].data();
    in.tableVersion = tableVersions[layer];
    in.lens = lens.data();
    in.lensVersion = lensVersion;
    in.window = windows[layer];
    if (!deadInLayer.empty() && deadInLayer[layer])
      in.dead = dead[layer].data();
    return in;
  }
};

namespace kvrt {

/// One migration request of a group (see Migration.cpp).
struct MigrationRequest {
  uint32_t layer;
  uint32_t first;
  uint32_t count;
  kvrt_direction direction;
};

/// Checks a group of requests, in order, against the cache's current state
/// without changing anything.
kvrt_status validateGroup(const kvrt_cache &cache,
                          const MigrationRequest *requests, size_t count);

/// Issues a validated group. *last receives the newest ticket (or 0).
kvrt_status issueGroup(kvrt_cache &cache, const MigrationRequest *requests,
                       size_t count, kvrt_handle *last);

/// Makes later compute on `layer` wait for its in-flight migrations.
kvrt_status computeWaitLayer(kvrt_cache &cache, uint32_t layer);

/// Test-only fault injection: when set, copies are issued without their
/// slot-release and block-writer dependencies, so tests can show that they
/// detect the corruption this causes. Never set outside tests.
void setSkipCopyDependenciesForTesting(bool skip);

} // namespace kvrt

#endif // KVRT_LIB_CACHEIMPL_H
