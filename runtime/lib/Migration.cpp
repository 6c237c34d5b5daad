//===- Migration.cpp - The migration engine ---------------------*- C++ -*-===//
//
// Validates and issues groups of block-range migrations. All ordering
// decisions live here, shared by both backends:
//   - a group starts with a compute fence (copies see earlier appends, and no
//     earlier kernel still reads a slot the group vacates);
//   - each copy waits for the copy that last wrote its source (the block's
//     ticket) and for the copy that last read out of its destination slot
//     (the slot's release ticket);
//   - the block table changes at issue, and later compute on the layer
//     waits for the layer's newest ticket of each direction.
// Consecutive blocks whose source and destination slots are both
// consecutive are coalesced into one copy.
//
//===----------------------------------------------------------------------===//
#include "CacheImpl.h"
#include "Error.h"

#include <atomic>
#include <unordered_map>

using namespace kvrt;

namespace {

std::atomic<bool> skipDependencies{false};

const char *tierName(kvrt_tier tier) {
  return tier == KVRT_TIER_HBM ? "HBM" : "DRAM";
}

kvrt_tier sourceTier(kvrt_direction d) {
  return d == KVRT_PROMOTE ? KVRT_TIER_DRAM : KVRT_TIER_HBM;
}

kvrt_tier destTier(kvrt_direction d) {
  return d == KVRT_PROMOTE ? KVRT_TIER_HBM : KVRT_TIER_DRAM;
}

/// A run of blocks copied by one copy operation.
struct Run {
  uint32_t firstBlock = 0;
  uint32_t srcSlot = 0;
  uint32_t dstSlot = 0;
  uint32_t length = 0;
  kvrt_handle deps[2] = {0, 0};

  void addDep(kvrt_handle t) {
    if (t && t > deps[ticketDirection(t)])
      deps[ticketDirection(t)] = t;
  }
};

kvrt_status flushRun(kvrt_cache &cache, uint32_t layer, kvrt_direction dir,
                     Run &run, kvrt_handle *last) {
  if (!run.length)
    return KVRT_OK;
  kvrt_tier src = sourceTier(dir), dst = destTier(dir);
  const CacheGeometry &g = cache.geometry;
  size_t bytes = run.length * g.slotBytes;
  kvrt_handle ticket = 0;
  kvrt_status st = cache.backend().enqueueCopy(
      dir, g.base[dst] + run.dstSlot * g.slotBytes,
      g.base[src] + run.srcSlot * g.slotBytes, bytes, run.deps, 2, &ticket);
  if (st != KVRT_OK) {
    // Undo this run's table updates; earlier runs were issued.
    for (uint32_t k = 0; k < run.length; ++k) {
      cache.tables[layer][run.firstBlock + k] = packEntry(src, run.srcSlot + k);
      cache.tiers[dst].freeSlots.insert(run.dstSlot + k);
    }
    run.length = 0;
    return st;
  }
  for (uint32_t k = 0; k < run.length; ++k) {
    cache.blockTickets[layer][run.firstBlock + k] = ticket;
    cache.tiers[src].releaseTicket[run.srcSlot + k] = ticket;
    cache.tiers[src].freeSlots.insert(run.srcSlot + k);
  }
  cache.layerTickets[layer][dir] = ticket;
  ++cache.tableVersions[layer];
  kvrt_counters &c = cache.counters;
  (dir == KVRT_PROMOTE ? c.bytes_promoted : c.bytes_demoted) += bytes;
  c.blocks_migrated += run.length;
  ++c.copies_issued;
  *last = ticket;
  run = Run();
  return KVRT_OK;
}

kvrt_status issueOne(kvrt_cache &cache, const MigrationRequest &r,
                     kvrt_handle *last) {
  kvrt_tier dst = destTier(r.direction);
  std::set<uint32_t> &freeSlots = cache.tiers[dst].freeSlots;
  std::vector<uint32_t> &table = cache.tables[r.layer];
  Backend &backend = cache.backend();
  Run run;
  for (uint32_t b = r.first; b < r.first + r.count; ++b) {
    uint32_t srcSlot = entrySlot(table[b]);
    uint32_t nextDst = run.dstSlot + run.length;
    bool extend = run.length && srcSlot == run.srcSlot + run.length &&
                  freeSlots.count(nextDst);
    if (!extend) {
      KVRT_TRY(flushRun(cache, r.layer, r.direction, run, last));
      run.firstBlock = b;
      run.srcSlot = srcSlot;
      run.dstSlot = nextDst = *freeSlots.begin();
    }
    freeSlots.erase(nextDst);
    if (dst == KVRT_TIER_HBM)
      cache.noteHbmUse();
    kvrt_handle release = cache.tiers[dst].releaseTicket[nextDst];
    kvrt_handle writer = cache.blockTickets[r.layer][b];
    if (skipDependencies.load(std::memory_order_relaxed))
      release = writer = 0;
    if (release && !backend.isComplete(release))
      run.addDep(release);
    if (writer && !backend.isComplete(writer))
      run.addDep(writer);
    table[b] = packEntry(dst, nextDst);
    ++run.length;
  }
  return flushRun(cache, r.layer, r.direction, run, last);
}

} // namespace

kvrt_status kvrt::validateGroup(const kvrt_cache &cache,
                                const MigrationRequest *requests,
                                size_t count) {
  int64_t freeCount[2] = {
      static_cast<int64_t>(cache.tiers[0].freeSlots.size()),
      static_cast<int64_t>(cache.tiers[1].freeSlots.size())};
  std::unordered_map<uint64_t, kvrt_tier> moved;
  const uint32_t layers = static_cast<uint32_t>(cache.tables.size());
  const uint32_t blocks = cache.geometry.blocksPerLayer;
  for (size_t i = 0; i < count; ++i) {
    const MigrationRequest &r = requests[i];
    if (r.direction != KVRT_PROMOTE && r.direction != KVRT_DEMOTE)
      return fail(KVRT_ERR_INVALID_ARGUMENT,
                  "migration %zu: unknown direction %d", i,
                  static_cast<int>(r.direction));
    if (r.layer >= layers)
      return fail(KVRT_ERR_MISMATCH,
                  "migration %zu: layer %u out of range (cache has %u layers)",
                  i, r.layer, layers);
    if (r.count == 0 || uint64_t(r.first) + r.count > blocks)
      return fail(KVRT_ERR_MISMATCH,
                  "migration %zu: blocks [%u, %llu) of layer %u out of range "
                  "(layer has %u blocks)",
                  i, r.first,
                  static_cast<unsigned long long>(uint64_t(r.first) + r.count),
                  r.layer, blocks);
    kvrt_tier src = sourceTier(r.direction), dst = destTier(r.direction);
    for (uint32_t b = r.first; b < r.first + r.count; ++b) {
      if (cache.isDead(r.layer, b))
        return fail(KVRT_ERR_MISMATCH,
                    "migration %zu: block %u of layer %u is dead (it left the "
                    "layer's sliding window), cannot %s it",
                    i, b, r.layer,
                    r.direction == KVRT_PROMOTE ? "promote" : "demote");
      uint64_t key = (uint64_t(r.layer) << 32) | b;
      auto it = moved.find(key);
      kvrt_tier now =
          it != moved.end() ? it->second : entryTier(cache.tables[r.layer][b]);
      if (now != src)
        return fail(KVRT_ERR_MISMATCH,
                    "migration %zu: block %u of layer %u is in %s, cannot %s "
                    "it",
                    i, b, r.layer, tierName(now),
                    r.direction == KVRT_PROMOTE ? "promote" : "demote");
    }
    if (freeCount[dst] < r.count)
      return fail(KVRT_ERR_CAPACITY,
                  "migration %zu: %s of %u blocks of layer %u needs %u free "
                  "%s slots, only %lld are free (capacity %u)",
                  i, r.direction == KVRT_PROMOTE ? "promotion" : "demotion",
                  r.count, r.layer, r.count, tierName(dst),
                  static_cast<long long>(freeCount[dst]),
                  cache.tiers[dst].capacity);
    freeCount[dst] -= r.count;
    freeCount[src] += r.count;
    if (count > 1)
      for (uint32_t b = r.first; b < r.first + r.count; ++b)
        moved[(uint64_t(r.layer) << 32) | b] = dst;
  }
  return KVRT_OK;
}

kvrt_status kvrt::issueGroup(kvrt_cache &cache,
                             const MigrationRequest *requests, size_t count,
                             kvrt_handle *last) {
  kvrt_handle newest = 0;
  if (count)
    KVRT_TRY(cache.backend().fenceCompute());
  for (size_t i = 0; i < count; ++i)
    KVRT_TRY(issueOne(cache, requests[i], &newest));
  if (last)
    *last = newest;
  return KVRT_OK;
}

void kvrt::setSkipCopyDependenciesForTesting(bool skip) {
  skipDependencies.store(skip, std::memory_order_relaxed);
}

kvrt_status kvrt::computeWaitLayer(kvrt_cache &cache, uint32_t layer) {
  Backend &backend = cache.backend();
  for (kvrt_handle t : cache.layerTickets[layer])
    if (t && !backend.isComplete(t))
      KVRT_TRY(backend.computeWait(t));
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_migrate(kvrt_cache *cache, uint32_t layer,
                                    uint32_t first_block, uint32_t count,
                                    kvrt_direction direction,
                                    kvrt_handle *out) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  MigrationRequest r{layer, first_block, count, direction};
  KVRT_TRY(validateGroup(*cache, &r, 1));
  kvrt_handle last = 0;
  KVRT_TRY(issueGroup(*cache, &r, 1, &last));
  if (out)
    *out = last;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_wait(kvrt_cache *cache, kvrt_handle handle) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  if (!cache->backend().isIssued(handle))
    return fail(KVRT_ERR_INVALID_ARGUMENT, "handle %llu was never issued",
                static_cast<unsigned long long>(handle));
  return cache->backend().hostWait(handle);
}

extern "C" kvrt_status kvrt_query(kvrt_cache *cache, kvrt_handle handle,
                                  int *done) {
  if (!cache || !done)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or output");
  if (!cache->backend().isIssued(handle))
    return fail(KVRT_ERR_INVALID_ARGUMENT, "handle %llu was never issued",
                static_cast<unsigned long long>(handle));
  *done = cache->backend().isComplete(handle) ? 1 : 0;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_wait_layer(kvrt_cache *cache,
                                             uint32_t layer) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  if (layer != KVRT_ALL_LAYERS && layer >= cache->tables.size())
    return fail(KVRT_ERR_MISMATCH, "layer %u out of range (cache has %zu)",
                layer, cache->tables.size());
  uint32_t begin = layer == KVRT_ALL_LAYERS ? 0 : layer;
  uint32_t end = layer == KVRT_ALL_LAYERS
                     ? static_cast<uint32_t>(cache->tables.size())
                     : layer + 1;
  for (uint32_t l = begin; l < end; ++l)
    for (kvrt_handle t : cache->layerTickets[l])
      KVRT_TRY(cache->backend().hostWait(t));
  return KVRT_OK;
}
