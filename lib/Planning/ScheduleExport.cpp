//===- ScheduleExport.cpp - write a schedule as a runtime side file -------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/ScheduleExport.h"

#include "kvopt/Core/Residency.h"

#include "kvrt/schedule.h"
#include "kvrt/status.h"

#include <algorithm>
#include <memory>
#include <vector>

using namespace kvopt;

namespace {
/// Collects single-block moves and merges runs of consecutive blocks.
class MigrationList {
public:
  void add(uint32_t step, uint32_t layer, uint32_t block, kvrt_direction dir) {
    if (!list.empty()) {
      kvrt_migration &last = list.back();
      if (last.step == step && last.layer == layer && last.direction == dir &&
          last.first_block + last.count == block) {
        ++last.count;
        return;
      }
    }
    list.push_back(kvrt_migration{step, layer, block, 1, dir});
  }
  const std::vector<kvrt_migration> &get() const { return list; }

private:
  std::vector<kvrt_migration> list;
};

struct ScheduleDeleter {
  void operator()(kvrt_schedule *s) const { kvrt_schedule_destroy(s); }
};
} // namespace

static llvm::Error runtimeError(kvrt_status status, const std::string &path) {
  return llvm::createStringError("schedule file '%s': %s (%s)", path.c_str(),
                                 kvrt_last_error(),
                                 kvrt_status_name(status));
}

llvm::Error kvopt::writeScheduleFile(const Problem &problem,
                                     const Schedule &schedule,
                                     const std::string &path) {
  const Workload &w = problem.work;
  uint32_t layers = w.model.layers;
  uint64_t perSeq = w.blocksPerSeqLayer();
  uint64_t perLayer = perSeq * w.batch;
  if (perLayer > UINT32_MAX)
    return llvm::createStringError("schedule file '%s': %llu blocks per layer "
                                   "exceed the format's 32-bit indices",
                                   path.c_str(), (unsigned long long)perLayer);
  Residency geometry(layers, w.batch, w.tokensPerBlock, perSeq,
                     std::max<uint64_t>(1, problem.capacityBlocks));
  // Runtime numbering: per layer, block = seq * perSeq + index.
  auto runtimeBlock = [&](BlockId b) {
    return uint32_t(uint64_t(geometry.seqOf(b)) * perSeq + geometry.indexOf(b));
  };

  kvrt_schedule *raw = nullptr;
  if (kvrt_status st = kvrt_schedule_create(layers, uint32_t(perLayer),
                                            w.decodeSteps, &raw))
    return runtimeError(st, path);
  std::unique_ptr<kvrt_schedule, ScheduleDeleter> sched(raw);

  std::vector<BlockId> initial = schedule.initialHbm;
  std::sort(initial.begin(), initial.end());
  for (BlockId b : initial)
    if (kvrt_status st = kvrt_schedule_set_placement(
            sched.get(), geometry.layerOf(b), runtimeBlock(b), 1,
            KVRT_TIER_HBM))
      return runtimeError(st, path);

  MigrationList moves;
  uint64_t record = 0;
  for (uint32_t step = 0; step < w.decodeSteps; ++step) {
    uint64_t token = uint64_t(w.promptLen) + step;
    bool opens = token % w.tokensPerBlock == 0;
    for (uint32_t layer = 0; layer < layers; ++layer)
      for (uint32_t seq = 0; seq < w.batch; ++seq, ++record) {
        if (record >= schedule.records())
          break;
        for (BlockId b : schedule.demotions(record))
          moves.add(step, geometry.layerOf(b), runtimeBlock(b), KVRT_DEMOTE);
        if (opens && schedule.newBlockInHbm(record))
          moves.add(step, layer,
                    runtimeBlock(geometry.blockOf(seq, layer, uint32_t(token))),
                    KVRT_PROMOTE);
        for (BlockId b : schedule.promotions(record))
          moves.add(step, geometry.layerOf(b), runtimeBlock(b), KVRT_PROMOTE);
      }
  }
  const std::vector<kvrt_migration> &list = moves.get();
  if (!list.empty())
    if (kvrt_status st = kvrt_schedule_add_migrations(sched.get(), list.data(),
                                                      list.size()))
      return runtimeError(st, path);
  // The runtime executes a step's moves in the order that keeps it within
  // the plan's capacity (kvrt/schedule.h), so the file assumes exactly it.
  uint32_t capacity =
      uint32_t(std::min<uint64_t>(problem.capacityBlocks, UINT32_MAX));
  if (kvrt_status st = kvrt_schedule_set_assumptions(
          sched.get(), w.tokensPerBlock, capacity))
    return runtimeError(st, path);
  // Sliding-window layers (format version 2): the runtime frees a dead
  // block's slot at the step it leaves its window, as the plan does.
  if (w.hasWindows()) {
    std::vector<uint32_t> windows(layers);
    for (uint32_t l = 0; l < layers; ++l)
      windows[l] = w.windowOf(l);
    if (kvrt_status st = kvrt_schedule_set_windows(
            sched.get(), windows.data(), w.promptLen, uint32_t(perSeq)))
      return runtimeError(st, path);
  }
  if (kvrt_status st = kvrt_schedule_write(sched.get(), path.c_str()))
    return runtimeError(st, path);
  return llvm::Error::success();
}
