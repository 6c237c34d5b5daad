/*===- kvrt/schedule.h - Placement + migration schedules ---------*- C -*-===*\
|*                                                                            *|
|* A schedule is an initial placement (per layer, which blocks are in HBM)   *|
|* and a time-ordered list of migrations (step, layer, first block, count,    *|
|* direction). The planner builds one with the builder functions and writes  *|
|* it with kvrt_schedule_write; the runtime reads it back (validated) and     *|
|* executes it step by step. File format: docs/schedule-format.md.            *|
|*                                                                            *|
|* Execution order: records sorted by (step, layer); within one (step, layer) *|
|* group all demotions are issued before all promotions, so a group may      *|
|* promote into the slots its own demotions free.                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_SCHEDULE_H
#define KVRT_SCHEDULE_H

#include "kvrt/cache.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Current version of the schedule file format.
#define KVRT_SCHEDULE_VERSION 2u
/// A schedule without windows is written as version 1 (unchanged); both are
/// read.
#define KVRT_SCHEDULE_VERSION_NO_WINDOWS 1u

/// One planned migration of a block range of one layer.
typedef struct kvrt_migration {
  /// Decode step (token index) whose execution issues it.
  uint32_t step;
  uint32_t layer;
  uint32_t first_block;
  uint32_t count;
  kvrt_direction direction;
} kvrt_migration;

/*--- Building -------------------------------------------------------------*/

/// Creates an empty schedule: all blocks in DRAM, no migrations.
/// Limits: 1 <= num_layers <= 65535, blocks_per_layer >= 1.
kvrt_status kvrt_schedule_create(uint32_t num_layers, uint32_t blocks_per_layer,
                                 uint32_t num_steps, kvrt_schedule **out);
void kvrt_schedule_destroy(kvrt_schedule *schedule);

/// Marks blocks [first, first + count) of `layer` as initially in `tier`.
kvrt_status kvrt_schedule_set_placement(kvrt_schedule *schedule, uint32_t layer,
                                        uint32_t first, uint32_t count,
                                        kvrt_tier tier);
/// Appends migrations (any order; they are stably sorted by (step, layer)).
kvrt_status kvrt_schedule_add_migrations(kvrt_schedule *schedule,
                                         const kvrt_migration *migrations,
                                         size_t count);
/// Records the shape the plan assumed; 0 leaves a field unspecified.
/// Nonzero values are checked against the cache and, for the capacity,
/// against the schedule's own peak HBM occupancy.
kvrt_status kvrt_schedule_set_assumptions(kvrt_schedule *schedule,
                                          uint32_t block_tokens,
                                          uint32_t hbm_capacity_blocks);

/// Records sliding windows (format version 2): `windows` has num_layers
/// entries, the window of each layer in tokens (0 = global attention). A
/// block of a windowed layer whose tokens all precede the window of step i
/// (prompt_tokens + i - window) is dead from step i on: it holds no slot in
/// either tier and no migration may move it. Block b of a layer holds
/// tokens [j*block_tokens, (j+1)*block_tokens) of its sequence, j = b %
/// blocks_per_seq; block_tokens is the assumption set with
/// kvrt_schedule_set_assumptions (required with windows).
kvrt_status kvrt_schedule_set_windows(kvrt_schedule *schedule,
                                      const uint32_t *windows,
                                      uint32_t prompt_tokens,
                                      uint32_t blocks_per_seq);

/// Checks the schedule on its own: ranges, steps < num_steps, every
/// migration moves blocks that are in its source tier at that point, peak
/// HBM occupancy within the assumed capacity. KVRT_ERR_MISMATCH or
/// KVRT_ERR_CAPACITY with a message naming the first bad record.
kvrt_status kvrt_schedule_check(const kvrt_schedule *schedule);

/*--- Files ----------------------------------------------------------------*/

/// Checks the schedule, then writes it to `path`.
kvrt_status kvrt_schedule_write(const kvrt_schedule *schedule,
                                const char *path);
/// Serialises into a malloc'd buffer (free with kvrt_free).
kvrt_status kvrt_schedule_write_memory(const kvrt_schedule *schedule,
                                       void **data, size_t *size);
/// One-call writer for planners holding plain arrays: `hbm_mask` has
/// num_layers * blocks_per_layer bytes (nonzero = initially in HBM, layer
/// major); `migrations` need not be sorted.
kvrt_status kvrt_schedule_write_arrays(const char *path, uint32_t num_layers,
                                       uint32_t blocks_per_layer,
                                       uint32_t num_steps,
                                       const uint8_t *hbm_mask,
                                       const kvrt_migration *migrations,
                                       size_t num_migrations);
/// Reads and validates a schedule file (KVRT_ERR_IO, KVRT_ERR_FORMAT for a
/// bad magic/version/size/checksum, or the errors of kvrt_schedule_check).
kvrt_status kvrt_schedule_read(const char *path, kvrt_schedule **out);
kvrt_status kvrt_schedule_read_memory(const void *data, size_t size,
                                      kvrt_schedule **out);
/// Frees memory returned by kvrt (kvrt_schedule_write_memory).
void kvrt_free(void *data);

/*--- Queries --------------------------------------------------------------*/

uint32_t kvrt_schedule_num_layers(const kvrt_schedule *schedule);
uint32_t kvrt_schedule_blocks_per_layer(const kvrt_schedule *schedule);
uint32_t kvrt_schedule_num_steps(const kvrt_schedule *schedule);
/// The assumptions recorded with kvrt_schedule_set_assumptions (0: none):
/// tokens per block and HBM capacity in blocks.
uint32_t kvrt_schedule_block_tokens(const kvrt_schedule *schedule);
uint32_t kvrt_schedule_hbm_capacity(const kvrt_schedule *schedule);
/// Window of `layer` in tokens (0: global, or no windows).
uint32_t kvrt_schedule_window(const kvrt_schedule *schedule, uint32_t layer);
/// Whether the schedule has windows (format version 2), and the prompt
/// tokens and blocks per sequence recorded with them (0 without windows).
int kvrt_schedule_has_windows(const kvrt_schedule *schedule);
uint32_t kvrt_schedule_prompt_tokens(const kvrt_schedule *schedule);
uint32_t kvrt_schedule_blocks_per_seq(const kvrt_schedule *schedule);
/// First step at which a block is dead (0: before decoding; UINT32_MAX:
/// never).
uint32_t kvrt_schedule_death_step(const kvrt_schedule *schedule,
                                  uint32_t layer, uint32_t block);
size_t kvrt_schedule_num_migrations(const kvrt_schedule *schedule);
/// The i-th migration in execution order.
kvrt_status kvrt_schedule_get_migration(const kvrt_schedule *schedule,
                                        size_t index, kvrt_migration *out);
/// Initial tier of a block.
kvrt_status kvrt_schedule_initial_tier(const kvrt_schedule *schedule,
                                       uint32_t layer, uint32_t block,
                                       kvrt_tier *out);

/*--- Execution ------------------------------------------------------------*/

/// Checks that the schedule fits the cache: same layer and block counts
/// (KVRT_ERR_MISMATCH), and that starting from its initial placement no
/// group of migrations exceeds either tier's capacity (KVRT_ERR_CAPACITY).
kvrt_status kvrt_schedule_validate(const kvrt_cache *cache,
                                   const kvrt_schedule *schedule);

/// Issues the migrations of `step` for `layer` (or KVRT_ALL_LAYERS), group
/// by group, asynchronously. Each group is validated against the cache's
/// current state before anything of it is issued; on error nothing of that
/// group was issued (earlier groups of the same call were). Later attention
/// on a layer waits for these copies by itself; kvrt_cache_wait_layer makes
/// the host wait.
kvrt_status kvrt_schedule_apply_step(kvrt_cache *cache,
                                     const kvrt_schedule *schedule,
                                     uint32_t step, uint32_t layer);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_SCHEDULE_H */
