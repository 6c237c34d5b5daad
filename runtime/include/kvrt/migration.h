/*===- kvrt/migration.h - Asynchronous block migrations ----------*- C -*-===*\
|*                                                                            *|
|* Promotions (DRAM -> HBM) and demotions (HBM -> DRAM) of block ranges run   *|
|* on dedicated copy streams (CUDA) or copy worker threads (host), overlapped *|
|* with compute. Ordering guarantees (docs/runtime.md):                       *|
|*  - a migration starts after all compute issued before it (appends land);   *|
|*  - the block table is updated at issue; a later attention or append on the *|
|*    layer waits for the layer's in-flight migrations;                       *|
|*  - a slot vacated by a migration is reused only after that copy completed; *|
|*  - a block migrated twice is copied in issue order.                        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_MIGRATION_H
#define KVRT_MIGRATION_H

#include "kvrt/cache.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Issues the migration of blocks [first_block, first_block + count) of
/// `layer`. Every block must be in the source tier and the destination tier
/// must have `count` free slots; otherwise KVRT_ERR_MISMATCH or
/// KVRT_ERR_CAPACITY and nothing is changed. *out (optional) receives a
/// handle that completes when all the range's copies have completed.
kvrt_status kvrt_migrate(kvrt_cache *cache, uint32_t layer,
                         uint32_t first_block, uint32_t count,
                         kvrt_direction direction, kvrt_handle *out);

/// Blocks the host until the handle's copies completed (0 returns at once).
kvrt_status kvrt_wait(kvrt_cache *cache, kvrt_handle handle);

/// Blocks the host until every migration issued so far on `layer` (or on
/// all layers for KVRT_ALL_LAYERS) completed.
kvrt_status kvrt_cache_wait_layer(kvrt_cache *cache, uint32_t layer);

/// Sets *done to 1 when the handle's copies completed, else 0.
kvrt_status kvrt_query(kvrt_cache *cache, kvrt_handle handle, int *done);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_MIGRATION_H */
