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

using namespace kvrt;

namespace {

/// Adds the K/V bytes a step reads from (and appends into) each tier.
void countTraffic(kvrt_cache &cache, uint32_t layer, bool append) {
  const CacheGeometry &g = cache.geometry;
  const kvrt_cache_config &c = g.config;
  const uint64_t tokenBytes = 2ull * c.num_kv_heads * c.head_dim * g.elemSize;
  const std::vector<uint32_t> &table = cache.tables[layer];
  for (uint32_t s = 0; s < c.num_seqs; ++s) {
    uint32_t n = cache.lens[s];
    const uint32_t *row = table.data() + size_t(s) * c.max_blocks_per_seq;
    if (append)
      cache.counters.bytes_appended[entryTier(row[n / c.block_tokens])] +=
          tokenBytes;
    n += append ? 1 : 0;
    for (uint32_t j = 0; j * c.block_tokens < n; ++j) {
      uint32_t tokens = std::min(c.block_tokens, n - j * c.block_tokens);
      cache.counters.bytes_read[entryTier(row[j])] += tokens * tokenBytes;
    }
  }
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
  if (!cache->deadInLayer.empty() && cache->deadInLayer[layer])
    return fail(KVRT_ERR_MISMATCH,
                "layer %u has %u blocks that left its sliding window (their "
                "slots are reused); the runtime's attention reads every "
                "block and has no window",
                layer, cache->deadInLayer[layer]);
  if (k_new)
    for (uint32_t s = 0; s < cache->lens.size(); ++s)
      if (cache->lens[s] >= cache->geometry.maxTokens)
        return fail(KVRT_ERR_MISMATCH,
                    "sequence %u is full (%u tokens); cannot append", s,
                    cache->lens[s]);
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
