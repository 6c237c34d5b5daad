//===- SharedTier.cpp - Multi-GPU systems sharing a slower tier -----------===//
//
// Part of kv-opt. The presets themselves live in Hardware.cpp (one table for
// every preset number); this file derives the per-GPU systems.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/SharedTier.h"
#include "kvopt/Core/Error.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;

llvm::Error SharedTierSystem::validate() const {
  std::string ctx = "multi-GPU system '" + name + "'";
  if (gpus == 0)
    return makeFieldError(ctx, "gpus", "must be positive");
  if (gpusPerSlowTier == 0 || gpusPerSlowTier > gpus || gpus % gpusPerSlowTier)
    return makeFieldError(ctx, "gpus_per_slow_tier",
                          "must divide the " + std::to_string(gpus) +
                              " GPUs, got " + std::to_string(gpusPerSlowTier));
  for (auto [field, v] : {std::pair<const char *, double>{"group_link_h2d",
                                                          groupLinkH2D},
                          {"group_link_d2h", groupLinkD2H}})
    if (!std::isfinite(v) || v < 0)
      return makeFieldError(ctx, field,
                            "must be 0 (no cap) or positive, got " +
                                std::to_string(v));
  return gpu.validate();
}

unsigned kvopt::activeGpusPerSlowTier(const SharedTierSystem &system,
                                      unsigned deploymentGpus) {
  return std::max(1u, std::min(system.gpusPerSlowTier, deploymentGpus));
}

llvm::Expected<MemorySystem>
kvopt::perGpuMemorySystem(const SharedTierSystem &system, unsigned active) {
  if (llvm::Error err = system.validate())
    return std::move(err);
  if (active == 0 || active > system.gpusPerSlowTier)
    return makeFieldError("multi-GPU system '" + system.name + "'",
                          "active GPUs per slow tier",
                          "must be in 1.." +
                              std::to_string(system.gpusPerSlowTier) +
                              ", got " + std::to_string(active));
  MemorySystem m = system.gpu;
  m.unverified = system.unverified;
  for (Tier &t : m.tiers)
    if (t.kind == TierKind::DRAM) {
      t.capacityBytes /= active;
      t.readBandwidth /= active;
      t.writeBandwidth /= active;
    }
  Link &l = m.links.front();
  bool forwardIsH2D = l.from == m.dram().name;
  double &h2d = forwardIsH2D ? l.forwardBandwidth : l.backwardBandwidth;
  double &d2h = forwardIsH2D ? l.backwardBandwidth : l.forwardBandwidth;
  if (system.groupLinkH2D > 0)
    h2d = std::min(h2d, system.groupLinkH2D / active);
  if (system.groupLinkD2H > 0)
    d2h = std::min(d2h, system.groupLinkD2H / active);
  if (system.gpusPerSlowTier > 1)
    m.description += "; per GPU with " + std::to_string(active) + " of " +
                     std::to_string(system.gpusPerSlowTier) +
                     " GPUs busy on the shared tier (its capacity and "
                     "bandwidth divided evenly)";
  return m;
}

SharedTierSystem kvopt::independentGpus(const MemorySystem &mem,
                                        unsigned gpus) {
  SharedTierSystem s;
  s.name = mem.name;
  s.description = mem.description;
  s.unverified = mem.unverified;
  s.gpus = std::max(1u, gpus);
  s.gpusPerSlowTier = 1;
  s.gpu = mem;
  return s;
}
