//===- Problem.cpp - Hardware + workload + capacity ----------------------===//
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Error.h"

#include <cmath>
#include <cstdio>

using namespace kvopt;

static std::string gb(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f GB", bytes / 1e9);
  return buf;
}

llvm::Expected<Problem> Problem::create(const MemorySystem &mem,
                                        const Workload &work,
                                        TimeModelMode mode, Hierarchy hierarchy,
                                        double fixedStepSeconds) {
  if (auto e = work.validate())
    return std::move(e);
  if (auto e = mem.validate(double(work.blockBytes())))
    return std::move(e);
  auto model = TimeModel::create(mem, work, mode, hierarchy, fixedStepSeconds);
  if (!model)
    return model.takeError();
  double kvBytes;
  uint64_t blocks;
  if (mode == TimeModelMode::Paper) {
    // The seed reads --C_HBM_max in GiB and para_num in decimal GB, and
    // add_token_to_hbm stops one short of max_KV_num.
    double capGiB = mem.hbm().capacityBytes / 1e9 * 1073741824.0;
    kvBytes = capGiB - work.residentWeightBytes();
    double maxKv = std::floor(kvBytes / double(work.entryBytes()));
    blocks = maxKv >= 2 ? uint64_t(maxKv - 1) / work.tokensPerBlock : 0;
  } else {
    kvBytes = mem.hbm().capacityBytes - work.residentWeightBytes();
    blocks = kvBytes > 0
                 ? uint64_t(std::floor(kvBytes / double(work.blockBytes())))
                 : 0;
  }
  if (blocks == 0)
    return makeFieldError(
        "memory system '" + mem.name + "'",
        "tiers." + mem.hbm().name + ".capacity",
        "HBM capacity left for KV after " + gb(work.residentWeightBytes()) +
            " of weights is " + gb(kvBytes) + ", below one block of " +
            std::to_string(work.blockBytes()) + " B");
  return Problem{mem, work, std::move(*model), blocks};
}

Problem Problem::withCapacityBlocks(uint64_t blocks) const {
  Problem p = *this;
  p.capacityBlocks = blocks;
  return p;
}
