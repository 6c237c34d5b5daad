//===- Attention.cpp - Decode attention entry point and counters -*- C++
//-*-===//
//
// kvrt_attention_step validates, orders the step after the layer's
// in-flight migrations, accounts the bytes each tier serves, and hands the
// work to the backend's kernels. Also the counter and step-timing calls.
//
//===----------------------------------------------------------------------===//
#include "CacheImpl.h"
#include "Error.h"

#include <algorithm>

using namespace kvrt;

namespace {

/// Adds the K/V bytes a step reads from (and appends into) each tier: the
/// tokens of the layer's window, each from the tier of its block (a block
/// partly before the window is charged only for its tokens in it), and the
/// appended token. Blocks before the window are not read and not counted.
void countTraffic(kvrt_cache &cache, uint32_t layer, bool append) {
  const CacheGeometry &g = cache.geometry;
  const kvrt_cache_config &c = g.config;
  const uint64_t tokenBytes = 2ull * c.num_kv_heads * c.head_dim * g.elemSize;
  const std::vector<uint32_t> &table = cache.tables[layer];
  const uint32_t bs = c.block_tokens;
  for (uint32_t s = 0; s < c.num_seqs; ++s) {
    uint32_t n = cache.lens[s];
    uint32_t first = windowStart(cache.windows[layer], n);
    const uint32_t *row = table.data() + size_t(s) * c.max_blocks_per_seq;
    if (append)
      cache.counters.bytes_appended[entryTier(row[n / bs])] += tokenBytes;
    n += append ? 1 : 0;
    for (uint32_t j = first / bs; j * bs < n; ++j) {
      uint32_t lo = std::max(first, j * bs), hi = std::min(n, (j + 1) * bs);
      cache.counters.bytes_read[entryTier(row[j])] += (hi - lo) * tokenBytes;
    }
  }
}

/// The blocks attention reads must be live: a dead block's slot may hold
/// another block. With the window the schedule freed them for, none is.
kvrt_status checkWindowLive(const kvrt_cache &cache, uint32_t layer,
                            bool append) {
  if (cache.deadInLayer.empty() || !cache.deadInLayer[layer])
    return KVRT_OK;
  const kvrt_cache_config &c = cache.geometry.config;
  const uint32_t bs = c.block_tokens;
  for (uint32_t s = 0; s < c.num_seqs; ++s) {
    uint32_t n = cache.lens[s] + (append ? 1 : 0);
    uint32_t first = windowStart(cache.windows[layer], cache.lens[s]);
    for (uint32_t j = first / bs; j * bs < n; ++j)
      if (cache.isDead(layer, s * c.max_blocks_per_seq + j))
        return fail(KVRT_ERR_MISMATCH,
                    "layer %u, sequence %u: attention over tokens [%u, %u) "
                    "(window %u) would read block %u, which left its sliding "
                    "window and gave its slot back",
                    layer, s, first, n, cache.windows[layer],
                    s * c.max_blocks_per_seq + j);
  }
  return KVRT_OK;
}

} // namespace

extern "C" kvrt_status kvrt_attention_step(kvrt_cache *cache, uint32_t layer,
                                           const float *q, const float *k_new,
                                           const float *v_new, float *out) {
  if (!cache || !q || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_attention_step: null cache, query or output");
  if (!k_new != !v_new)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_attention_step: k_new and v_new must both be given or "
                "both be null");
  if (layer >= cache->tables.size())
    return fail(KVRT_ERR_MISMATCH, "layer %u out of range (cache has %zu)",
                layer, cache->tables.size());
  if (k_new)
    for (uint32_t s = 0; s < cache->lens.size(); ++s)
      if (cache->lens[s] >= cache->geometry.maxTokens)
        return fail(KVRT_ERR_MISMATCH,
                    "sequence %u is full (%u tokens); cannot append", s,
                    cache->lens[s]);
  KVRT_TRY(checkWindowLive(*cache, layer, k_new != nullptr));
  KVRT_TRY(computeWaitLayer(*cache, layer));
  KVRT_TRY(
      cache->kernels->attention(cache->inputs(layer), q, k_new, v_new, out));
  countTraffic(*cache, layer, k_new != nullptr);
  ++cache->counters.attention_calls;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_counters_get(const kvrt_cache *cache,
                                         kvrt_counters *out) {
  if (!cache || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or output");
  *out = cache->counters;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_counters_reset(kvrt_cache *cache) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  cache->counters = kvrt_counters{};
  cache->noteHbmUse();
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_step_begin(kvrt_cache *cache) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  KVRT_TRY(cache->backend().synchronize());
  cache->stepStart = std::chrono::steady_clock::now();
  cache->inStep = true;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_step_end(kvrt_cache *cache) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  if (!cache->inStep)
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_step_end without kvrt_step_begin");
  KVRT_TRY(cache->backend().synchronize());
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - cache->stepStart)
                       .count();
  cache->inStep = false;
  cache->counters.steps += 1;
  cache->counters.step_seconds_total += seconds;
  cache->counters.step_seconds_last = seconds;
  return KVRT_OK;
}
