//===- Testing.cpp - Deterministic data, reference and checks ---*- C++ -*-===//
//
// The generator is keyed by token position, so the expected content of a
// cache depends only on (seed, lengths), never on where blocks live: a
// reference needs no cache at all, and any misplaced byte is detectable.
//
//===----------------------------------------------------------------------===//
#include "CacheImpl.h"
#include "Error.h"
#include "Numeric.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace kvrt;

namespace {

kvrt_status checkConfigPointer(const kvrt_cache_config *c) {
  if (!c || !c->num_kv_heads || !c->head_dim || !c->num_seqs ||
      !c->num_q_heads || c->num_q_heads % c->num_kv_heads || !c->block_tokens ||
      !c->max_blocks_per_seq)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null or invalid cache config");
  return KVRT_OK;
}

uint32_t maxTokensOf(const kvrt_cache_config &c) {
  return c.max_blocks_per_seq * c.block_tokens;
}

uint64_t fnv1a(const uint8_t *data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

} // namespace

extern "C" kvrt_status kvrt_cache_fill_random(kvrt_cache *cache,
                                              uint64_t seed) {
  if (!cache)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache");
  for (uint32_t l = 0; l < cache->tables.size(); ++l) {
    KVRT_TRY(computeWaitLayer(*cache, l));
    KVRT_TRY(cache->kernels->fillLayer(cache->inputs(l), seed));
  }
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_gen_token_kv(const kvrt_cache_config *c,
                                         uint64_t seed, uint32_t layer,
                                         uint32_t seq, uint32_t pos, float *k,
                                         float *v) {
  KVRT_TRY(checkConfigPointer(c));
  if (!k || !v || seq >= c->num_seqs || pos >= maxTokensOf(*c))
    return fail(KVRT_ERR_INVALID_ARGUMENT,
                "kvrt_gen_token_kv: null output or sequence/position out of "
                "range");
  uint64_t kvs = kvSeed(seed);
  for (uint32_t h = 0; h < c->num_kv_heads; ++h)
    for (uint32_t e = 0; e < c->head_dim; ++e) {
      size_t i = size_t(h) * c->head_dim + e;
      k[i] = genValue(kvs, kvGenIndex(layer, seq, pos, 0, h, e, c->num_seqs,
                                      maxTokensOf(*c), c->num_kv_heads,
                                      c->head_dim));
      v[i] = genValue(kvs, kvGenIndex(layer, seq, pos, 1, h, e, c->num_seqs,
                                      maxTokensOf(*c), c->num_kv_heads,
                                      c->head_dim));
    }
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_gen_step_kv(const kvrt_cache_config *c,
                                        uint64_t seed, uint32_t layer,
                                        const uint32_t *lens, float *k,
                                        float *v) {
  KVRT_TRY(checkConfigPointer(c));
  if (!lens)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null lengths");
  size_t stride = size_t(c->num_kv_heads) * c->head_dim;
  for (uint32_t s = 0; s < c->num_seqs; ++s)
    KVRT_TRY(kvrt_gen_token_kv(c, seed, layer, s, lens[s], k + s * stride,
                               v + s * stride));
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_gen_queries(const kvrt_cache_config *c,
                                        uint64_t seed, uint32_t step,
                                        uint32_t layer, float *q) {
  KVRT_TRY(checkConfigPointer(c));
  if (!q)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null query output");
  size_t n = size_t(c->num_seqs) * c->num_q_heads * c->head_dim;
  uint64_t qs = mix64(querySeed(seed) ^ (uint64_t(step) << 20) ^ layer);
  for (size_t i = 0; i < n; ++i)
    q[i] = genValue(qs, i);
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_reference_attention(const kvrt_cache_config *c,
                                                uint64_t seed, uint32_t layer,
                                                const uint32_t *ntokens,
                                                const float *q, float *out) {
  return kvrt_reference_attention_range(c, seed, layer, nullptr, ntokens, q,
                                        out);
}

extern "C" kvrt_status
kvrt_reference_attention_range(const kvrt_cache_config *c, uint64_t seed,
                               uint32_t layer, const uint32_t *first,
                               const uint32_t *ntokens, const float *q,
                               float *out) {
  KVRT_TRY(checkConfigPointer(c));
  if (!ntokens || !q || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null argument");
  const uint32_t d = c->head_dim, kvh = c->num_kv_heads;
  const uint32_t group = c->num_q_heads / kvh, maxTokens = maxTokensOf(*c);
  const int dtype = static_cast<int>(c->dtype);
  const double scale =
      c->scale > 0.0f ? c->scale : 1.0 / std::sqrt(static_cast<double>(d));
  uint64_t kvs = kvSeed(seed);
  std::vector<double> scores, acc(d);
  for (uint32_t s = 0; s < c->num_seqs; ++s) {
    uint32_t n = ntokens[s], lo = first ? first[s] : 0;
    if (n > maxTokens)
      return fail(KVRT_ERR_MISMATCH, "sequence %u: %u tokens exceed %u", s, n,
                  maxTokens);
    if (lo > n)
      return fail(KVRT_ERR_INVALID_ARGUMENT,
                  "sequence %u: first token %u is past the end %u", s, lo, n);
    for (uint32_t qh = 0; qh < c->num_q_heads; ++qh) {
      const float *qv = q + (size_t(s) * c->num_q_heads + qh) * d;
      float *ov = out + (size_t(s) * c->num_q_heads + qh) * d;
      uint32_t h = qh / group;
      auto value = [&](uint32_t pos, uint32_t kv, uint32_t e) {
        float x = genValue(kvs, kvGenIndex(layer, s, pos, kv, h, e, c->num_seqs,
                                           maxTokens, kvh, d));
        return static_cast<double>(roundToDtype(x, dtype));
      };
      // Dense over [0, n) with a mask: tokens before `lo` get -inf scores
      // and weight exactly 0, as a masked softmax gives them.
      const double masked = -std::numeric_limits<double>::infinity();
      scores.assign(n, masked);
      double m = masked;
      for (uint32_t p = lo; p < n; ++p) {
        double dot = 0.0;
        for (uint32_t e = 0; e < d; ++e)
          dot += static_cast<double>(qv[e]) * value(p, 0, e);
        scores[p] = dot * scale;
        m = std::max(m, scores[p]);
      }
      double sum = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (uint32_t p = 0; p < n; ++p) {
        if (scores[p] == masked)
          continue;
        double w = std::exp(scores[p] - m);
        sum += w;
        for (uint32_t e = 0; e < d; ++e)
          acc[e] += w * value(p, 1, e);
      }
      for (uint32_t e = 0; e < d; ++e)
        ov[e] = n > lo ? static_cast<float>(acc[e] / sum) : 0.0f;
    }
  }
  return KVRT_OK;
}

extern "C" double kvrt_max_rel_error(const kvrt_cache_config *c,
                                     const float *out, const float *ref) {
  if (!c || !out || !ref)
    return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  size_t vectors = size_t(c->num_seqs) * c->num_q_heads;
  for (size_t v = 0; v < vectors; ++v) {
    double err = 0.0, mag = 0.0;
    for (uint32_t e = 0; e < c->head_dim; ++e) {
      size_t i = v * c->head_dim + e;
      if (!std::isfinite(out[i]))
        return std::numeric_limits<double>::infinity();
      err = std::max(err, std::fabs(double(out[i]) - double(ref[i])));
      mag = std::max(mag, std::fabs(double(ref[i])));
    }
    worst = std::max(worst, err / std::max(mag, 1e-30));
  }
  return worst;
}

extern "C" kvrt_status kvrt_cache_verify(kvrt_cache *cache, uint64_t seed,
                                         uint64_t *mismatched) {
  if (!cache || !mismatched)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or output");
  const CacheGeometry &g = cache->geometry;
  const kvrt_cache_config &c = g.config;
  const int dtype = static_cast<int>(c.dtype);
  uint64_t kvs = kvSeed(seed);
  std::vector<uint8_t> block(g.slotBytes);
  uint64_t bad = 0;
  for (uint32_t l = 0; l < c.num_layers; ++l)
    for (uint32_t b = 0; b < g.blocksPerLayer; ++b) {
      // A dead block (it left its window) has no slot and no content.
      if (cache->isDead(l, b))
        continue;
      KVRT_TRY(kvrt_cache_read_block(cache, l, b, block.data()));
      uint32_t s = b / c.max_blocks_per_seq, j = b % c.max_blocks_per_seq;
      bool ok = true;
      for (uint32_t kv = 0; kv < 2 && ok; ++kv)
        for (uint32_t h = 0; h < c.num_kv_heads && ok; ++h)
          for (uint32_t off = 0; off < c.block_tokens && ok; ++off) {
            uint32_t pos = j * c.block_tokens + off;
            for (uint32_t e = 0; e < c.head_dim; ++e) {
              size_t i =
                  ((size_t(kv) * c.num_kv_heads + h) * c.block_tokens + off) *
                      c.head_dim +
                  e;
              float want = 0.0f;
              if (pos < cache->lens[s])
                want = roundToDtype(
                    genValue(kvs, kvGenIndex(l, s, pos, kv, h, e, c.num_seqs,
                                             g.maxTokens, c.num_kv_heads,
                                             c.head_dim)),
                    dtype);
              float have = loadElement(block.data(), i, dtype);
              if (floatToBits(have) != floatToBits(want)) {
                ok = false;
                break;
              }
            }
          }
      bad += ok ? 0 : 1;
    }
  *mismatched = bad;
  return KVRT_OK;
}

extern "C" kvrt_status kvrt_cache_block_checksum(kvrt_cache *cache,
                                                 uint32_t layer, uint32_t block,
                                                 uint64_t *out) {
  if (!cache || !out)
    return fail(KVRT_ERR_INVALID_ARGUMENT, "null cache or output");
  std::vector<uint8_t> data(cache->geometry.slotBytes);
  KVRT_TRY(kvrt_cache_read_block(cache, layer, block, data.data()));
  *out = fnv1a(data.data(), data.size());
  return KVRT_OK;
}
