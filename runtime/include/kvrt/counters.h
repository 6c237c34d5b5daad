/*===- kvrt/counters.h - Traffic counters and step timing --------*- C -*-===*\
|*                                                                            *|
|* Per-cache counters of the bytes each resource carried, so a measured step  *|
|* can be compared with the time model: step_time = max over resources of     *|
|* bytes / bandwidth.                                                         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef KVRT_COUNTERS_H
#define KVRT_COUNTERS_H

#include "kvrt/cache.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Cumulative counters since creation or the last kvrt_counters_reset.
typedef struct kvrt_counters {
  /// K/V bytes read by attention from each tier (indexed by kvrt_tier).
  uint64_t bytes_read[KVRT_NUM_TIERS];
  /// New-token K/V bytes appended into each tier.
  uint64_t bytes_appended[KVRT_NUM_TIERS];
  /// Bytes copied DRAM -> HBM and HBM -> DRAM.
  uint64_t bytes_promoted;
  uint64_t bytes_demoted;
  /// Blocks migrated and copy operations issued (after coalescing).
  uint64_t blocks_migrated;
  uint64_t copies_issued;
  uint64_t attention_calls;
  /// Steps timed with kvrt_step_begin/kvrt_step_end and their wall time.
  uint64_t steps;
  double step_seconds_total;
  double step_seconds_last;
  /// Highest number of HBM slots in use at once (a promotion takes its slot
  /// when issued, a demotion frees its slot when issued); the reset sets it
  /// to the current use.
  uint64_t peak_hbm_blocks;
  /// Blocks of sliding-window layers that left their window while a
  /// windowed schedule ran: their slots were freed without a copy.
  uint64_t blocks_released;
} kvrt_counters;

kvrt_status kvrt_counters_get(const kvrt_cache *cache, kvrt_counters *out);
kvrt_status kvrt_counters_reset(kvrt_cache *cache);

/// Starts timing a step: waits for all earlier work, then notes the time.
kvrt_status kvrt_step_begin(kvrt_cache *cache);
/// Ends a step: waits for all compute and copies issued since
/// kvrt_step_begin and adds the elapsed wall time to the counters.
kvrt_status kvrt_step_end(kvrt_cache *cache);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVRT_COUNTERS_H */
