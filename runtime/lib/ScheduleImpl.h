//===- ScheduleImpl.h - Internal representation of a schedule ---*- C++ -*-===//
//
// Migrations are kept in execution order: sorted by (step, layer), and
// within one (step, layer) group demotions before promotions (stable).
//
//===----------------------------------------------------------------------===//
#ifndef KVRT_LIB_SCHEDULEIMPL_H
#define KVRT_LIB_SCHEDULEIMPL_H

#include "kvrt/kvrt.h"

#include <atomic>
#include <cstdint>
#include <vector>

namespace kvrt {
/// A process-unique number for every schedule object created.
inline uint64_t nextScheduleSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}
} // namespace kvrt

struct kvrt_schedule {
  /// Identifies this schedule to a cache executing it (ScheduleExec.cpp).
  uint64_t serial = kvrt::nextScheduleSerial();
  uint32_t numLayers = 0;
  uint32_t blocksPerLayer = 0;
  uint32_t numSteps = 0;
  uint32_t blockTokens = 0;
  uint32_t hbmCapacity = 0;
  /// numLayers * blocksPerLayer entries, 1 = initially in HBM.
  std::vector<uint8_t> initialHbm;
  std::vector<kvrt_migration> migrations;
  /// Sliding windows (format version 2): per layer the window in tokens
  /// (0 = global); empty = no windows. With them, the prompt length and the
  /// blocks per sequence place a block's tokens, so its death step follows.
  std::vector<uint32_t> windows;
  uint32_t promptTokens = 0;
  uint32_t blocksPerSeq = 0;
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

/// First step at which block `block` of `layer` is dead (its tokens all left
/// the layer's window): 0 = dead before decoding, UINT32_MAX = never (a
/// global layer or no windows). The formula of the planner's
/// Workload::deathStepOf (docs/model.md, "Sliding-window (local) layers").
uint32_t deathStep(const kvrt_schedule &s, uint32_t layer, uint32_t block);

/// Checks the windows against the shape: one per layer, block size and
/// blocks per sequence set, the blocks per sequence dividing the layer's.
kvrt_status checkWindows(const kvrt_schedule &s);

/// Checks one record's ranges against the schedule's shape.
kvrt_status checkRecord(const kvrt_schedule &s, const kvrt_migration &m,
                        size_t index);

/// One block's net move in a step (see netStepMoves).
struct NetMove {
  uint32_t layer;
  uint32_t block;
  kvrt_direction direction;
};

/// The execution order of a step, shared by the executor and the checks:
/// the step's migrations are reduced per block (a block moved an even number
/// of times within the step ends where it started and is not moved, an odd
/// number moves it once, away from its tier at the start of the step), then
/// all demotions of the step (every layer) are issued before any promotion,
/// and the promotions of a layer when the step reaches that layer. So HBM
/// occupancy inside a step never exceeds the larger of its value at the
/// start and at the end of the step, whatever order the planner decided the
/// moves in. `inHbm(layer, block)` is the block's tier at the step's start.
/// Fails (naming the record) when a block's moves cannot alternate from that
/// tier. Moves come out in (layer, block) order.
template <typename InHbm>
kvrt_status netStepMoves(const kvrt_schedule &s, uint32_t step, InHbm inHbm,
                         std::vector<NetMove> &demotions,
                         std::vector<NetMove> &promotions);

/// Replays the schedule from its initial placement in execution order
/// (netStepMoves): every migration must move blocks that can be in its
/// source tier, and after a step's demotions and after each layer's
/// promotions HBM may hold at most hbmCap and DRAM at most dramCap blocks.
/// `who` names the origin of the capacities in messages.
kvrt_status simulateSchedule(const kvrt_schedule &s, uint64_t hbmCap,
                             uint64_t dramCap, const char *who);

} // namespace kvrt

#include "ScheduleNet.h"

#endif // KVRT_LIB_SCHEDULEIMPL_H
