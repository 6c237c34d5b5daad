//===- ScheduleExec.cpp - Executing schedules on a cache --------*- C++ -*-===//
//
// Matching a schedule to a cache, applying its initial placement, and
// issuing the migrations of one step, group by group, each group validated
// in full before any of it is issued.
//
//===----------------------------------------------------------------------===//
#include "CacheImpl.h"
#include "Error.h"
#include "ScheduleImpl.h"

#include <algorithm>

using namespace kvrt;

namespace {

kvrt_status checkShape(const kvrt_cache &cache, const kvrt_schedule &s) {
  const kvrt_cache_config &c = cache.geometry.config;
  if (s.numLayers != c.num_layers ||
      s.blocksPerLayer != cache.geometry.blocksPerLayer)
    return fail(KVRT_ERR_MISMATCH,
                "schedule is for %u layers x %u blocks, the cache has %u "
                "layers x %u blocks",
                s.numLayers, s.blocksPerLayer, c.num_layers,
                cache.geometry.blocksPerLayer);
  if (s.blockTokens && s.blockTokens != c.block_tokens)
    return fail(KVRT_ERR_MISMATCH,
                "schedule assumes %u tokens per block, the cache has %u",
                s.blockTokens, c.block_tokens);
  return KVRT_OK;
}

/// Appends a request, merging it into the previous one when contiguous.
void pushRequest(std::vector<MigrationRequest> &out, uint32_t layer,
                 uint32_t block, kvrt_direction dir) {
  if (!out.empty()) {
    MigrationRequest &r = out.back();
    if (r.layer == layer && r.direction == dir && r.first + r.count == block) {
      ++r.count;
      return;
    }
  }
  out.push_back({layer, block, 1, dir});
}

/// A windowed schedule's windows become the cache's attention windows: a
/// cache without windows (all 0) takes them, a cache with windows must have
/// the same ones (its attention would otherwise read tokens whose blocks the
/// schedule frees, or skip tokens the plan reads).
kvrt_status adoptWindows(kvrt_cache &cache, const kvrt_schedule &s) {
  if (s.windows.empty())
    return KVRT_OK;
  bool unset = std::all_of(cache.windows.begin(), cache.windows.end(),
                           [](uint32_t w) { return w == 0; });
  if (!unset)
    for (uint32_t l = 0; l < s.numLayers; ++l)
      if (cache.windows[l] != s.windows[l])
        return fail(KVRT_ERR_MISMATCH,
                    "layer %u: the schedule's window is %u tokens, the "
                    "cache's attention window is %u",
                    l, s.windows[l], cache.windows[l]);
  cache.windows = s.windows;
  return KVRT_OK;
}

/// Frees the slots of the blocks of a windowed schedule that are dead by
/// `step` (kvrt/schedule.h): the block is marked dead and its slot goes back
/// to its tier, to be reused once the copy that last wrote it completed. No
/// copy is issued. The simulator drops a block at its chain's record of the
/// step; the runtime does it at the step's first call, with the step's
/// demotions, before any promotion of the step can need the slot.
kvrt_status releaseDead(kvrt_cache &cache, const kvrt_schedule &s,
                        uint32_t step) {
  if (s.windows.empty())
    return KVRT_OK;
  KVRT_TRY(adoptWindows(cache, s));
  const uint32_t blocks = cache.geometry.blocksPerLayer;
  try {
    if (cache.deathSchedule != s.serial) {
      cache.deaths.clear();
      for (uint32_t l = 0; l < s.numLayers; ++l)
        for (uint32_t b = 0; b < blocks; ++b) {
          uint32_t d = deathStep(s, l, b);
          if (d < s.numSteps)
            cache.deaths.push_back({l, b, d});
        }
      std::stable_sort(cache.deaths.begin(), cache.deaths.end(),
                       [](const std::array<uint32_t, 3> &a,
                          const std::array<uint32_t, 3> &b) {
                         return a[2] < b[2];
                       });
      cache.deathSchedule = s.serial;
      cache.deathsApplied = 0;
    }
    if (cache.dead.empty()) {
      cache.dead.assign(s.numLayers, std::vector<uint8_t>(blocks, 0));
      cache.deadInLayer.assign(s.numLayers, 0);
    }
  } catch (const std::bad_alloc &) {
    return fail(KVRT_ERR_ALLOCATION, "cannot hold the schedule's deaths");
  }
  for (; cache.deathsApplied < cache.deaths.size() &&
         cache.deaths[cache.deathsApplied][2] <= step;
       ++cache.deathsApplied) {
    auto [l, b, d] = cache.deaths[cache.deathsApplied];
    if (cache.dead[l][b])
      continue;
    cache.dead[l][b] = 1;
    ++cache.deadInLayer[l];
    uint32_t entry = cache.tables[l][b];
    kvrt_cache::Tier &tier = cache.tiers[entryTier(entry)];
    uint32_t slot = entrySlot(entry);
    if (kvrt_handle writer = cache.blockTickets[l][b])
      tier.releaseTicket[slot] = writer;
    tier.freeSlots.insert(slot);
    ++cache.tableVersions[l];
    ++cache.counters.blocks_released;
  }
  return KVRT_OK;
}

} // namespace

extern "C" kvrt_status kvrt_schedule_validate(const kvrt_cache *cache,
                                              const kvrt_schedule *s) {
  if (!cache || !s)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or schedule");
  KVRT_TRY(checkShape(*cache, *s));
  if (s->hbmCapacity &&
      s->hbmCapacity > cache->geometry.config.hbm_capacity_blocks)
    return fail(KVRT_ERR_CAPACITY,
                "schedule assumes %u HBM blocks, the cache has %u",
                s->hbmCapacity, cache->geometry.config.hbm_capacity_blocks);
  return simulateSchedule(*s, cache->geometry.config.hbm_capacity_blocks,
                          cache->geometry.config.dram_capacity_blocks,
                          "cache's");
}

extern "C" kvrt_status kvrt_cache_apply_placement(kvrt_cache *cache,
                                                  const kvrt_schedule *s) {
  if (!cache || !s)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or schedule");
  KVRT_TRY(checkShape(*cache, *s));
  // Blocks dead before decoding never exist: their slots are free first.
  KVRT_TRY(releaseDead(*cache, *s, 0));
  // Blocks to move, then an order in which every move finds a free slot:
  // alternate demotions and promotions so each reuses the slots the other
  // freed. Counts only; validateGroup re-checks the exact sequence.
  std::vector<std::pair<uint32_t, uint32_t>> toDemote, toPromote;
  const uint32_t blocks = cache->geometry.blocksPerLayer;
  for (uint32_t l = 0; l < s->numLayers; ++l)
    for (uint32_t b = 0; b < blocks; ++b) {
      if (cache->isDead(l, b))
        continue;
      bool want = s->initialHbm[size_t(l) * blocks + b] != 0;
      bool have = entryTier(cache->tables[l][b]) == KVRT_TIER_HBM;
      if (want && !have)
        toPromote.push_back({l, b});
      else if (!want && have)
        toDemote.push_back({l, b});
    }
  int64_t freeSlots[2] = {
      static_cast<int64_t>(cache->tiers[KVRT_TIER_HBM].freeSlots.size()),
      static_cast<int64_t>(cache->tiers[KVRT_TIER_DRAM].freeSlots.size())};
  std::vector<MigrationRequest> requests;
  size_t d = 0, p = 0;
  while (d < toDemote.size() || p < toPromote.size()) {
    bool progressed = false;
    for (; d < toDemote.size() && freeSlots[KVRT_TIER_DRAM] > 0; ++d) {
      pushRequest(requests, toDemote[d].first, toDemote[d].second, KVRT_DEMOTE);
      --freeSlots[KVRT_TIER_DRAM];
      ++freeSlots[KVRT_TIER_HBM];
      progressed = true;
    }
    for (; p < toPromote.size() && freeSlots[KVRT_TIER_HBM] > 0; ++p) {
      pushRequest(requests, toPromote[p].first, toPromote[p].second,
                  KVRT_PROMOTE);
      --freeSlots[KVRT_TIER_HBM];
      ++freeSlots[KVRT_TIER_DRAM];
      progressed = true;
    }
    if (!progressed)
      return fail(KVRT_ERR_CAPACITY,
                  "initial placement puts %zu more blocks in %s than it has "
                  "slots for (HBM capacity %u, DRAM capacity %u)",
                  d < toDemote.size() ? toDemote.size() - d
                                      : toPromote.size() - p,
                  d < toDemote.size() ? "DRAM" : "HBM",
                  cache->tiers[KVRT_TIER_HBM].capacity,
                  cache->tiers[KVRT_TIER_DRAM].capacity);
  }
  KVRT_TRY(validateGroup(*cache, requests.data(), requests.size()));
  cache->openSchedule = 0;
  cache->openStep = -1;
  return issueGroup(*cache, requests.data(), requests.size(), nullptr);
}

extern "C" kvrt_status kvrt_schedule_apply_step(kvrt_cache *cache,
                                                const kvrt_schedule *s,
                                                uint32_t step, uint32_t layer) {
  if (!cache || !s)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or schedule");
  KVRT_TRY(checkShape(*cache, *s));
  if (step >= s->numSteps)
    return fail(KVRT_ERR_MISMATCH, "step %u out of range (schedule has %u)",
                step, s->numSteps);
  if (layer != KVRT_ALL_LAYERS && layer >= s->numLayers)
    return fail(KVRT_ERR_MISMATCH, "layer %u out of range (schedule has %u)",
                layer, s->numLayers);
  // A new step: reduce it to net moves (netStepMoves), issue all of its
  // demotions now and keep its promotions for their layers' calls.
  if (cache->openSchedule != s->serial || cache->openStep != int64_t(step)) {
    KVRT_TRY(releaseDead(*cache, *s, step));
    std::vector<NetMove> demotions, promotions;
    KVRT_TRY(netStepMoves(
        *s, step,
        [&](uint32_t l, uint32_t b) {
          return entryTier(cache->tables[l][b]) == KVRT_TIER_HBM;
        },
        demotions, promotions));
    std::vector<MigrationRequest> group;
    for (const NetMove &m : demotions)
      pushRequest(group, m.layer, m.block, KVRT_DEMOTE);
    if (!group.empty()) {
      KVRT_TRY(validateGroup(*cache, group.data(), group.size()));
      KVRT_TRY(issueGroup(*cache, group.data(), group.size(), nullptr));
    }
    cache->openSchedule = s->serial;
    cache->openStep = step;
    cache->pendingPromotions.assign(s->numLayers, {});
    for (const NetMove &m : promotions)
      cache->pendingPromotions[m.layer].push_back(m.block);
  }
  uint32_t first = layer == KVRT_ALL_LAYERS ? 0 : layer;
  uint32_t last = layer == KVRT_ALL_LAYERS ? s->numLayers - 1 : layer;
  for (uint32_t l = first; l <= last; ++l) {
    std::vector<uint32_t> &blocks = cache->pendingPromotions[l];
    if (blocks.empty())
      continue;
    std::vector<MigrationRequest> group;
    for (uint32_t b : blocks)
      pushRequest(group, l, b, KVRT_PROMOTE);
    KVRT_TRY(validateGroup(*cache, group.data(), group.size()));
    KVRT_TRY(issueGroup(*cache, group.data(), group.size(), nullptr));
    blocks.clear();
  }
  return KVRT_OK;
}
