//===- SharedTier.h - Multi-GPU systems sharing a slower tier ---*- C++ -*-===//
//
// Part of kv-opt. A multi-GPU system where groups of GPUs share one slower
// tier and its bandwidth: the two B200s of a GB200 superchip share one Grace
// and its LPDDR5X, the four GPUs on one socket of an x86 host share that
// socket's DDR5. Each GPU has its own HBM and its own link to the shared
// tier; a group-wide cap on those links (one NVLink-C2C interface for both
// GPUs of a GB200) may apply on top.
//
// The planner sees one GPU at a time. perGpuMemorySystem() gives the two-tier
// system one GPU effectively owns when `active` GPUs of its group run
// identical work in lockstep: the shared tier's capacity and bandwidth, and
// the group's link cap, divided evenly among them (docs/model.md, section
// "Shared tiers"). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_SHAREDTIER_H
#define KVOPT_CORE_SHAREDTIER_H

#include "kvopt/Core/Hardware.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kvopt {

struct SharedTierSystem {
  std::string name;
  std::string description;
  /// True when a number could not be checked against a primary source.
  bool unverified = false;
  /// GPUs in the system (one NVLink domain or host).
  unsigned gpus = 1;
  /// GPUs sharing one slow tier (and its bandwidth).
  unsigned gpusPerSlowTier = 1;
  /// One GPU's HBM, one whole shared slow tier, and one GPU's own link.
  MemorySystem gpu;
  /// When positive: the bandwidth per direction that all links of one group
  /// share (host-to-device, device-to-host); 0: links are independent.
  double groupLinkH2D = 0, groupLinkD2H = 0;

  /// Checks the fields; errors name the system and the field.
  llvm::Error validate() const;
};

/// GPUs of one slow-tier group that are busy when `deploymentGpus` GPUs are
/// placed densely (groups filled first): min(gpusPerSlowTier, deploymentGpus).
unsigned activeGpusPerSlowTier(const SharedTierSystem &system,
                               unsigned deploymentGpus);

/// The two-tier memory system of one GPU whose slow-tier group has `active`
/// busy GPUs in lockstep: slow-tier capacity and bandwidths divided by
/// `active`; link bandwidth min(own link, group cap / active). `active` is
/// clamped to 1..gpusPerSlowTier by the caller's contract (checked).
llvm::Expected<MemorySystem> perGpuMemorySystem(const SharedTierSystem &system,
                                                unsigned active);

/// A system of `gpus` GPUs that each own a copy of `mem` (nothing shared).
SharedTierSystem independentGpus(const MemorySystem &mem, unsigned gpus);

/// Names of the multi-GPU presets ("h100-pcie-x8", "h200-pcie-x8",
/// "gh200-nvl2", "gb200-nvl72"), sourced in docs/hardware.md.
std::vector<std::string> listSharedTierPresets();

/// A multi-GPU preset by name; unknown names are an error listing the known.
llvm::Expected<SharedTierSystem> getSharedTierPreset(const std::string &name);

} // namespace kvopt

#endif // KVOPT_CORE_SHAREDTIER_H
