//===- ScheduleImpl.h - Internal representation of a schedule ---*- C++ -*-===//
//
// Migrations are kept in execution order: sorted by (step, layer), and
// within one (step, layer) group demotions before promotions (stable).
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_SCHEDULEIMPL_H
#define KVRT_LIB_SCHEDULEIMPL_H

#include "kvrt/kvrt.h"

#include <cstdint>
#include <vector>

struct kvrt_schedule {
  uint32_t numLayers = 0;
  uint32_t blocksPerLayer = 0;
  uint32_t numSteps = 0;
  uint32_t blockTokens = 0;
  uint32_t hbmCapacity = 0;
  /// numLayers * blocksPerLayer entries, 1 = initially in HBM.
  std::vector<uint8_t> initialHbm;
  std::vector<kvrt_migration> migrations;
};

namespace kvrt {

/// Execution-order key of a migration.
inline bool migrationBefore(const kvrt_migration &a, const kvrt_migration &b) {
  if (a.step != b.step)
    return a.step < b.step;
  if (a.layer != b.layer)
    return a.layer < b.layer;
  return a.direction == KVRT_DEMOTE && b.direction == KVRT_PROMOTE;
}

/// Checks one record's ranges against the schedule's shape.
kvrt_status checkRecord(const kvrt_schedule &s, const kvrt_migration &m,
                        size_t index);

/// Replays the schedule from its initial placement: every migration must
/// move blocks that are in its source tier, and after every (step, layer)
/// group HBM may hold at most hbmCap and DRAM at most dramCap blocks.
/// `who` names the origin of the capacities in messages.
kvrt_status simulateSchedule(const kvrt_schedule &s, uint64_t hbmCap,
                             uint64_t dramCap, const char *who);

} // namespace kvrt

#endif // KVRT_LIB_SCHEDULEIMPL_H
