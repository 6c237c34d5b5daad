//===- ScheduleStats.cpp - per-layer statistics of a schedule -------------===//
//
// Part of kv-opt. Replays a schedule's decisions (not the trace) to count,
// per layer, the blocks initially in HBM, the peak HBM occupancy and the
// moves, for the per-cache placement summaries.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Planner.h"

#include "kvopt/Core/Residency.h"

#include <algorithm>

using namespace kvopt;

void kvopt::scheduleLayerStats(const Problem &problem,
                               const Schedule &schedule, PolicyRun &run) {
  const Workload &w = problem.work;
  uint32_t layers = w.model.layers;
  // Geometry only: the capacity does not matter for block numbering.
  Residency geometry(layers, w.batch, w.tokensPerBlock, w.blocksPerSeqLayer(),
                     std::max<uint64_t>(1, problem.capacityBlocks));
  std::vector<uint64_t> occupancy(layers, 0);
  run.layerInitialHbm.assign(layers, 0);
  run.layerPromotions.assign(layers, 0);
  run.layerDemotions.assign(layers, 0);
  for (BlockId b : schedule.initialHbm)
    ++occupancy[geometry.layerOf(b)];
  run.layerInitialHbm = occupancy;
  run.layerPeakHbm = occupancy;
  uint64_t record = 0;
  for (uint32_t step = 0; step < w.decodeSteps; ++step) {
    // A token opens a new block when it is the first of its block.
    bool opens = (uint64_t(w.promptLen) + step) % w.tokensPerBlock == 0;
    for (uint32_t layer = 0; layer < layers; ++layer) {
      for (uint32_t seq = 0; seq < w.batch; ++seq, ++record) {
        if (record >= schedule.records())
          return;
        for (BlockId b : schedule.demotions(record)) {
          --occupancy[geometry.layerOf(b)];
          ++run.layerDemotions[geometry.layerOf(b)];
        }
        auto grow = [&](uint32_t l) {
          ++occupancy[l];
          run.layerPeakHbm[l] = std::max(run.layerPeakHbm[l], occupancy[l]);
        };
        if (opens && schedule.newBlockInHbm(record))
          grow(layer);
        for (BlockId b : schedule.promotions(record)) {
          grow(geometry.layerOf(b));
          ++run.layerPromotions[geometry.layerOf(b)];
        }
      }
    }
  }
}
