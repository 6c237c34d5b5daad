/*===- kvrt/cache.h - Paged two-tier KV cache --------------------*- C -*-===*\
|*                                                                            *|
|* A KV cache split over two tier pools, with one block table per layer       *|
|* mapping each logical block to (tier, slot), and per-sequence lengths.      *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_CACHE_H
#define KVRT_CACHE_H

#include "kvrt/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kvrt_cache kvrt_cache;
typedef struct kvrt_schedule kvrt_schedule;

/// Allocates both tier pools and places every block: the first
/// dram_capacity_blocks blocks (layer-major) in DRAM, the rest in HBM.
/// Errors: KVRT_ERR_INVALID_ARGUMENT for a bad shape, KVRT_ERR_CAPACITY when
/// the tiers together hold fewer slots than the cache has blocks,
/// KVRT_ERR_ALLOCATION when a pool cannot be allocated. All sequence lengths
/// start at 0 and the contents at zero.
kvrt_status kvrt_cache_create(kvrt_context *context,
                              const kvrt_cache_config *config,
                              kvrt_cache **out);

/// Waits for outstanding work and frees the cache (null is ignored).
void kvrt_cache_destroy(kvrt_cache *cache);

/// Copies the cache's configuration (scale resolved) into *out.
kvrt_status kvrt_cache_get_config(const kvrt_cache *cache,
                                  kvrt_cache_config *out);

/// Logical blocks per layer: num_seqs * max_blocks_per_seq.
uint32_t kvrt_cache_blocks_per_layer(const kvrt_cache *cache);

/// Sets the number of valid tokens of each sequence (array of num_seqs).
/// Fails with KVRT_ERR_MISMATCH if a length exceeds the capacity.
kvrt_status kvrt_cache_set_seq_lens(kvrt_cache *cache, const uint32_t *lens);
/// Sets each layer's sliding window in tokens (`windows` has num_layers
/// entries; 0 = global attention, the default). A layer with window w,
/// attending with n tokens cached, reads exactly the w most recent cached
/// tokens [max(0, n - w), n), token by token (a block partly before the
/// window is read only from the window's first token), plus the token the
/// step appends: the model's window (docs/model.md, "Sliding-window (local)
/// layers"). kvrt_cache_apply_placement of a windowed schedule sets them
/// from the schedule. Errors: a window above 2^31-1
/// (KVRT_ERR_INVALID_ARGUMENT); changing the window of a layer that has dead
/// blocks (KVRT_ERR_MISMATCH).
kvrt_status kvrt_cache_set_windows(kvrt_cache *cache, const uint32_t *windows);
/// Copies each layer's window (num_layers entries) to `windows`.
kvrt_status kvrt_cache_get_windows(const kvrt_cache *cache, uint32_t *windows);

/// Copies the sequence lengths (num_seqs entries) to `lens`.
kvrt_status kvrt_cache_get_seq_lens(const kvrt_cache *cache, uint32_t *lens);
/// Adds one token to every sequence (call after the last layer of a step).
kvrt_status kvrt_cache_advance(kvrt_cache *cache);

/// Where a logical block lives now (its migration may still be in flight).
kvrt_status kvrt_cache_block_location(const kvrt_cache *cache, uint32_t layer,
                                      uint32_t block, kvrt_tier *tier,
                                      uint32_t *slot);
/// Slots of `tier` in use and in total.
kvrt_status kvrt_cache_tier_usage(const kvrt_cache *cache, kvrt_tier tier,
                                  uint32_t *used, uint32_t *capacity);

/// Moves blocks (with migrations) so that exactly the blocks the schedule's
/// initial placement marks HBM are in HBM. Validated first: a schedule of a
/// different shape gives KVRT_ERR_MISMATCH, one that does not fit gives
/// KVRT_ERR_CAPACITY, and the cache is unchanged.
kvrt_status kvrt_cache_apply_placement(kvrt_cache *cache,
                                       const kvrt_schedule *schedule);

/// Blocks the host until all compute and copies of the cache's context are
/// complete.
kvrt_status kvrt_cache_synchronize(kvrt_cache *cache);

/// Reads one block's bytes (K then V, [kv_heads][block_tokens][head_dim]
/// each, dtype elements) into `dst` (kvrt_block_bytes bytes), after its
/// in-flight migration and all earlier writes. A dead block (it left its
/// layer's window; kvrt/schedule.h) has no slot: KVRT_ERR_MISMATCH, here and
/// in kvrt_cache_write_block.
kvrt_status kvrt_cache_read_block(kvrt_cache *cache, uint32_t layer,
                                  uint32_t block, void *dst);
/// Overwrites one block's bytes from `src`, ordered like an append.
kvrt_status kvrt_cache_write_block(kvrt_cache *cache, uint32_t layer,
                                   uint32_t block, const void *src);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_CACHE_H */
