/*===- kvrt/testing.h - Deterministic data and references --------*- C -*-===*\
|*                                                                            *|
|* Deterministic pseudo-random K/V/query values defined per token position   *|
|* (independent of placement), cache filling, a single-tier reference        *|
|* attention computed in plain C on the host (double precision), and cache    *|
|* verification. Used by tests, the example driver and emitted drivers.      *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_TESTING_H
#define KVRT_TESTING_H

#include "kvrt/cache.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Writes the generated K/V of every position < the sequence's length into
/// the cache (in whichever tier each block lives) and zeros elsewhere.
kvrt_status kvrt_cache_fill_random(kvrt_cache *cache, uint64_t seed);

/// The generated fp32 K and V of one token: [num_kv_heads][head_dim] each
/// (host memory). Appending these keeps the cache equal to the generator.
kvrt_status kvrt_gen_token_kv(const kvrt_cache_config *config, uint64_t seed,
                              uint32_t layer, uint32_t seq, uint32_t pos,
                              float *k, float *v);
/// Generated K/V of the token at position lens[s] of every sequence,
/// [num_seqs][num_kv_heads][head_dim] each (host memory).
kvrt_status kvrt_gen_step_kv(const kvrt_cache_config *config, uint64_t seed,
                             uint32_t layer, const uint32_t *lens, float *k,
                             float *v);
/// Generated queries of a step, [num_seqs][num_q_heads][head_dim] (host).
kvrt_status kvrt_gen_queries(const kvrt_cache_config *config, uint64_t seed,
                             uint32_t step, uint32_t layer, float *q);

/// Single-tier reference: attention of `q` over the generated tokens
/// [0, ntokens[s]) of each sequence, with K/V rounded to the cache dtype,
/// computed in double. All arrays host memory; out like q.
kvrt_status kvrt_reference_attention(const kvrt_cache_config *config,
                                     uint64_t seed, uint32_t layer,
                                     const uint32_t *ntokens, const float *q,
                                     float *out);

/// The same reference restricted to tokens [first[s], ntokens[s]) of each
/// sequence (first null: 0), computed densely over [0, ntokens[s]) with the
/// tokens before first[s] masked out: a sliding window. For a layer with
/// window w attending with lens[s] cached tokens and appending one:
/// first[s] = lens[s] > w ? lens[s] - w : 0, ntokens[s] = lens[s] + 1
/// (kvrt_cache_set_windows).
kvrt_status kvrt_reference_attention_range(const kvrt_cache_config *config,
                                           uint64_t seed, uint32_t layer,
                                           const uint32_t *first,
                                           const uint32_t *ntokens,
                                           const float *q, float *out);

/// Max over (sequence, head) of |out - ref|_inf / max(|ref|_inf, 1e-30).
double kvrt_max_rel_error(const kvrt_cache_config *config, const float *out,
                          const float *ref);

/// Compares every block with the generator (positions < length) and zeros
/// (beyond); *mismatched_blocks receives the number of blocks that differ.
/// Dead blocks (they left their layer's window) are skipped.
kvrt_status kvrt_cache_verify(kvrt_cache *cache, uint64_t seed,
                              uint64_t *mismatched_blocks);

/// FNV-1a 64 checksum of one block's bytes.
kvrt_status kvrt_cache_block_checksum(kvrt_cache *cache, uint32_t layer,
                                      uint32_t block, uint64_t *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_TESTING_H */
