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
  uint64_t perChain = w.blocksPerSeqLayer();
  // Geometry only: the capacity does not matter for block numbering.
  Residency geometry(layers, w.batch, w.tokensPerBlock, perChain,
                     std::max<uint64_t>(1, problem.capacityBlocks));
  std::vector<uint64_t> occupancy(layers, 0);
  std::vector<uint8_t> inHbm(uint64_t(layers) * w.batch * perChain, 0);
  // Leading dead blocks per (seq, layer) chain: a block whose tokens all
  // left its local layer's window holds no HBM slot (the simulator drops it
  // at no cost, a schedule may still list it in its initial placement).
  std::vector<uint64_t> dead(uint64_t(layers) * w.batch, 0);
  for (uint32_t seq = 0; seq < w.batch; ++seq)
    for (uint32_t layer = 0; layer < layers; ++layer)
      dead[uint64_t(seq) * layers + layer] = w.deadBlocksAt(layer, 0);
  run.layerInitialHbm.assign(layers, 0);
  run.layerPromotions.assign(layers, 0);
  run.layerDemotions.assign(layers, 0);
  for (BlockId b : schedule.initialHbm) {
    if (b >= inHbm.size() || geometry.indexOf(b) < dead[b / perChain])
      continue;
    inHbm[b] = 1;
    ++occupancy[geometry.layerOf(b)];
  }
  run.layerInitialHbm = occupancy;
  run.layerPeakHbm = occupancy;
  uint64_t record = 0;
  for (uint32_t step = 0; step < w.decodeSteps; ++step) {
    // A token opens a new block when it is the first of its block.
    uint64_t position = uint64_t(w.promptLen) + step;
    bool opens = position % w.tokensPerBlock == 0;
    for (uint32_t layer = 0; layer < layers; ++layer) {
      uint64_t nowDead = w.deadBlocksAt(layer, step);
      for (uint32_t seq = 0; seq < w.batch; ++seq, ++record) {
        if (record >= schedule.records())
          return;
        uint64_t chain = uint64_t(seq) * layers + layer;
        // Blocks that leave the window die first, as in the simulator.
        for (uint64_t k = dead[chain]; k < nowDead && k < perChain; ++k)
          if (inHbm[chain * perChain + k]) {
            inHbm[chain * perChain + k] = 0;
            --occupancy[layer];
          }
        dead[chain] = std::max(dead[chain], nowDead);
        for (BlockId b : schedule.demotions(record)) {
          if (b < inHbm.size())
            inHbm[b] = 0;
          --occupancy[geometry.layerOf(b)];
          ++run.layerDemotions[geometry.layerOf(b)];
        }
        auto grow = [&](BlockId b) {
          if (b < inHbm.size())
            inHbm[b] = 1;
          uint32_t l = geometry.layerOf(b);
          ++occupancy[l];
          run.layerPeakHbm[l] = std::max(run.layerPeakHbm[l], occupancy[l]);
        };
        if (opens && schedule.newBlockInHbm(record))
          grow(chain * perChain + position / w.tokensPerBlock);
        for (BlockId b : schedule.promotions(record)) {
          grow(b);
          ++run.layerPromotions[geometry.layerOf(b)];
        }
      }
    }
  }
}
