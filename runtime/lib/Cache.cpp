//===- Cache.cpp - Cache creation, lengths and block access -----*- C++ -*-===//
//
// The C entry points of kvrt/cache.h (except placement, in
// ScheduleExec.cpp). Creation validates the whole shape before allocating
// anything; a failed creation leaves nothing behind.
//
//===----------------------------------------------------------------------===//
#include "CacheImpl.h"
#include "Error.h"

#include <cmath>
#include <limits>
#include <new>

using namespace kvrt;

extern "C" size_t kvrt_dtype_size(kvrt_dtype dtype) {
  switch (dtype) {
  case KVRT_DTYPE_F32:
    return 4;
  case KVRT_DTYPE_F16:
  case KVRT_DTYPE_BF16:
    return 2;
  default:
    return 0;
  }
}

extern "C" size_t kvrt_block_bytes(const kvrt_cache_config *c) {
  if (!c)
    return 0;
  return 2ull * c->num_kv_heads * c->block_tokens * c->head_dim *
         kvrt_dtype_size(c->dtype);
}

namespace {

constexpr uint32_t kMaxSlots = 0x7fffffffu;

kvrt_status checkConfig(const kvrt_cache_config &c) {
  if (c.num_layers < 1 || c.num_layers > 65535)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "num_layers is %u; it must be in 1..65535", c.num_layers);
  if (c.num_kv_heads < 1 || c.num_q_heads < 1 || c.num_q_heads % c.num_kv_heads)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "num_q_heads (%u) must be a positive multiple of num_kv_heads "
                "(%u)",
                c.num_q_heads, c.num_kv_heads);
  if (c.num_q_heads / c.num_kv_heads > 16)
    return fail(KVRT_ERR_UNSUPPORTED,
                "GQA group of %u query heads per KV head; at most 16 are "
                "supported",
                c.num_q_heads / c.num_kv_heads);
  if (c.head_dim < 1 || c.head_dim > 256)
    return fail(KVRT_ERR_UNSUPPORTED, "head_dim is %u; it must be in 1..256",
                c.head_dim);
  if (c.block_tokens < 1 || c.num_seqs < 1 || c.max_blocks_per_seq < 1)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "block_tokens (%u), num_seqs (%u) and max_blocks_per_seq (%u) "
                "must be positive",
                c.block_tokens, c.num_seqs, c.max_blocks_per_seq);
  if (c.num_seqs > 65535)
    return fail(KVRT_ERR_UNSUPPORTED,
                "num_seqs is %u; at most 65535 sequences are supported",
                c.num_seqs);
  if (kvrt_dtype_size(c.dtype) == 0)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "unknown dtype %d",
                static_cast<int>(c.dtype));
  if (!(c.scale >= 0.0f) || !std::isfinite(c.scale))
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "scale must be finite and >= 0 (0 selects 1/sqrt(head_dim))");
  uint64_t blocksPerLayer = uint64_t(c.num_seqs) * c.max_blocks_per_seq;
  uint64_t maxTokens = uint64_t(c.max_blocks_per_seq) * c.block_tokens;
  uint64_t total = blocksPerLayer * c.num_layers;
  if (maxTokens > kMaxSlots || total > kMaxSlots)
    return fail(KVRT_ERR_UNSUPPORTED,
                "cache of %llu blocks / %llu tokens per sequence is too "
                "large (limit 2^31-1)",
                static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(maxTokens));
  if (c.hbm_capacity_blocks > kMaxSlots || c.dram_capacity_blocks > kMaxSlots)
    return fail(KVRT_ERR_UNSUPPORTED, "tier capacity above 2^31-1 blocks");
  if (uint64_t(c.hbm_capacity_blocks) + c.dram_capacity_blocks < total)
    return fail(KVRT_ERR_CAPACITY,
                "the cache has %llu blocks but HBM (%u) and DRAM (%u) hold "
                "only %llu",
                static_cast<unsigned long long>(total), c.hbm_capacity_blocks,
                c.dram_capacity_blocks,
                static_cast<unsigned long long>(
                    uint64_t(c.hbm_capacity_blocks) + c.dram_capacity_blocks));
  return KVRT_OK;
}

void releasePools(kvrt_cache &cache) {
  for (int t = 0; t < KVRT_NUM_TIERS; ++t)
    if (cache.geometry.base[t])
      cache.backend().freePool(static_cast<kvrt_tier>(t),
                               cache.geometry.base[t],
                               cache.geometry.hostBase[t]);
}

kvrt_status checkBlock(const kvrt_cache *cache, uint32_t layer,
                       uint32_t block) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  if (layer >= cache->tables.size())
    return fail(KVRT_ERR_MISMATCH, "layer %u out of range (cache has %zu)",
                layer, cache->tables.size());
  if (block >= cache->geometry.blocksPerLayer)
    return fail(KVRT_ERR_MISMATCH,
                "block %u out of range (layer has %u blocks)", block,
                cache->geometry.blocksPerLayer);
  return KVRT_OK;
}

/// A dead block has no slot of its own any more: its old slot may hold
/// another block, so its bytes can be neither read nor written.
kvrt_status checkLive(const kvrt_cache *cache, uint32_t layer, uint32_t block) {
  if (cache->isDead(layer, block))
    return fail(KVRT_ERR_MISMATCH,
                "block %u of layer %u is dead (it left the layer's %u-token "
                "sliding window); it has no slot",
                block, layer, cache->windows[layer]);
  return KVRT_OK;
}

} // namespace

extern "C" kvrt_status kvrt_cache_create(kvrt_context *context,
                                         const kvrt_cache_config *config,
                                         kvrt_cache **out) {
  if (!context || !config || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_cache_create: null context, config or output");
  *out = nullptr;
  KVRT_TRY(checkConfig(*config));

  std::unique_ptr<kvrt_cache> cache(new (std::nothrow) kvrt_cache);
  if (!cache)
    return fail(KVRT_ERR_ALLOCATION, "cannot allocate the cache object");
  cache->context = context;
  CacheGeometry &g = cache->geometry;
  g.config = *config;
  g.elemSize = kvrt_dtype_size(config->dtype);
  g.slotBytes = kvrt_block_bytes(config);
  g.blocksPerLayer = config->num_seqs * config->max_blocks_per_seq;
  g.maxTokens = config->max_blocks_per_seq * config->block_tokens;
  g.scale = config->scale > 0.0f
                ? config->scale
                : 1.0f / std::sqrt(static_cast<float>(config->head_dim));
  g.config.scale = g.scale;

  uint32_t capacity[2] = {config->hbm_capacity_blocks,
                          config->dram_capacity_blocks};
  for (int t = 0; t < KVRT_NUM_TIERS; ++t) {
    if (capacity[t] &&
        g.slotBytes > std::numeric_limits<size_t>::max() / capacity[t]) {
      releasePools(*cache);
      return fail(KVRT_ERR_ALLOCATION, "%s pool size overflows size_t",
                  t == 0 ? "HBM" : "DRAM");
    }
    kvrt_status st = context->backend->allocPool(static_cast<kvrt_tier>(t),
                                                 capacity[t] * g.slotBytes,
                                                 &g.base[t], &g.hostBase[t]);
    if (st != KVRT_OK) {
      releasePools(*cache);
      return st;
    }
  }

  kvrt_status st = KVRT_OK;
  try {
    uint32_t layers = config->num_layers;
    cache->tables.assign(layers, std::vector<uint32_t>(g.blocksPerLayer));
    cache->blockTickets.assign(layers,
                               std::vector<kvrt_handle>(g.blocksPerLayer, 0));
    cache->layerTickets.assign(layers, {0, 0});
    cache->tableVersions.assign(layers, 1);
    cache->lens.assign(config->num_seqs, 0);
    cache->windows.assign(layers, 0);
    uint32_t next[2] = {0, 0};
    for (uint32_t l = 0; l < layers; ++l)
      for (uint32_t b = 0; b < g.blocksPerLayer; ++b) {
        kvrt_tier t = next[KVRT_TIER_DRAM] < capacity[KVRT_TIER_DRAM]
                          ? KVRT_TIER_DRAM
                          : KVRT_TIER_HBM;
        cache->tables[l][b] = packEntry(t, next[t]++);
      }
    for (int t = 0; t < KVRT_NUM_TIERS; ++t) {
      kvrt_cache::Tier &tier = cache->tiers[t];
      tier.capacity = capacity[t];
      tier.releaseTicket.assign(capacity[t], 0);
      for (uint32_t s = next[t]; s < capacity[t]; ++s)
        tier.freeSlots.insert(tier.freeSlots.end(), s);
    }
    cache->noteHbmUse();
  } catch (const std::bad_alloc &) {
    st = fail(KVRT_ERR_ALLOCATION, "cannot allocate the block tables");
  }
  if (st == KVRT_OK)
    st = context->backend->makeKernels(g, cache->kernels);
  if (st != KVRT_OK) {
    releasePools(*cache);
    return st;
  }
  *out = cache.release();
  return KVRT_OK;
}

extern "C" void kvrt_cache_destroy(kvrt_cache *cache) {
  if (!cache)
    return;
  cache->backend().synchronize();
  cache->kernels.reset();
  releasePools(*cache);
  delete cache;
}

extern "C" kvrt_status kvrt_cache_get_config(const kvrt_cache *cache,
                                             kvrt_cache_config *out) {
  if (!cache || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or output");
  *out = cache->geometry.config;
  return KVRT_OK;
}

extern "C" uint32_t kvrt_cache_blocks_per_layer(const kvrt_cache *cache) {
  return cache ? cache->geometry.blocksPerLayer : 0;
}

extern "C" kvrt_status kvrt_cache_set_seq_lens(kvrt_cache *cache,
                                               const uint32_t *lens) {
  if (!cache || !lens)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or lengths");
  for (uint32_t s = 0; s < cache->lens.size(); ++s)
    if (lens[s] > cache->geometry.maxTokens)
      return fail(KVRT_ERR_MISMATCH,
                  "length %u of sequence %u exceeds its capacity of %u tokens",
                  lens[s], s, cache->geometry.maxTokens);
  cache->lens.assign(lens, lens + cache->lens.size());
  ++cache->lensVersion;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_set_windows(kvrt_cache *cache,
                                              const uint32_t *windows) {
  if (!cache || !windows)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or windows");
  for (uint32_t l = 0; l < cache->windows.size(); ++l) {
    if (windows[l] > 0x7fffffffu)
      return fail(KVRT_ERR_INVALID_ARGUMENT,
                  "window of layer %u is %u tokens, more than 2^31-1", l,
                  windows[l]);
    if (windows[l] != cache->windows[l] && !cache->deadInLayer.empty() &&
        cache->deadInLayer[l])
      return fail(KVRT_ERR_MISMATCH,
                  "layer %u has %u dead blocks of its %u-token window; its "
                  "window cannot become %u",
                  l, cache->deadInLayer[l], cache->windows[l], windows[l]);
  }
  cache->windows.assign(windows, windows + cache->windows.size());
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_get_windows(const kvrt_cache *cache,
                                              uint32_t *windows) {
  if (!cache || !windows)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or windows");
  for (size_t l = 0; l < cache->windows.size(); ++l)
    windows[l] = cache->windows[l];
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_get_seq_lens(const kvrt_cache *cache,
                                               uint32_t *lens) {
  if (!cache || !lens)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or lengths");
  for (size_t s = 0; s < cache->lens.size(); ++s)
    lens[s] = cache->lens[s];
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_advance(kvrt_cache *cache) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  for (uint32_t s = 0; s < cache->lens.size(); ++s)
    if (cache->lens[s] >= cache->geometry.maxTokens)
      return fail(KVRT_ERR_MISMATCH,
                  "sequence %u is full (%u tokens); cannot advance", s,
                  cache->lens[s]);
  for (uint32_t &len : cache->lens)
    ++len;
  ++cache->lensVersion;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_block_location(const kvrt_cache *cache,
                                                 uint32_t layer, uint32_t block,
                                                 kvrt_tier *tier,
                                                 uint32_t *slot) {
  KVRT_TRY(checkBlock(cache, layer, block));
  uint32_t entry = cache->tables[layer][block];
  if (tier)
    *tier = entryTier(entry);
  if (slot)
    *slot = entrySlot(entry);
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_tier_usage(const kvrt_cache *cache,
                                             kvrt_tier tier, uint32_t *used,
                                             uint32_t *capacity) {
  if (!cache || (tier != KVRT_TIER_HBM && tier != KVRT_TIER_DRAM))
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or unknown tier");
  const kvrt_cache::Tier &t = cache->tiers[tier];
  if (used)
    *used = t.capacity - static_cast<uint32_t>(t.freeSlots.size());
  if (capacity)
    *capacity = t.capacity;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_synchronize(kvrt_cache *cache) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  return cache->backend().synchronize();
}

extern "C" kvrt_status kvrt_cache_read_block(kvrt_cache *cache, uint32_t layer,
                                             uint32_t block, void *dst) {
  KVRT_TRY(checkBlock(cache, layer, block));
  KVRT_TRY(checkLive(cache, layer, block));
  if (!dst)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null destination");
  KVRT_TRY(cache->backend().hostWait(cache->blockTickets[layer][block]));
  uint32_t entry = cache->tables[layer][block];
  return cache->kernels->readSlot(entryTier(entry), entrySlot(entry), dst);
}

extern "C" kvrt_status kvrt_cache_write_block(kvrt_cache *cache, uint32_t layer,
                                              uint32_t block, const void *src) {
  KVRT_TRY(checkBlock(cache, layer, block));
  KVRT_TRY(checkLive(cache, layer, block));
  if (!src)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null source");
  KVRT_TRY(cache->backend().computeWait(cache->blockTickets[layer][block]));
  uint32_t entry = cache->tables[layer][block];
  return cache->kernels->writeSlot(entryTier(entry), entrySlot(entry), src);
}
