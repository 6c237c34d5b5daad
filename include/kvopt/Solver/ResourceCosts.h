//===- ResourceCosts.h - Per-entry resource times of each action -*- C++ -*-===//
//
// The standard exclusive time model (TimeModel::standardStep) is linear in
// the step counts on every resource: one read hit, one miss, one promoted or
// demoted entry and one append each add a fixed number of seconds to each of
// the four resources HBM, DRAM, H2D and D2H. The solver prices actions with
// these per-entry vectors; docs/bound.md lists them.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_RESOURCECOSTS_H
#define KVOPT_SOLVER_RESOURCECOSTS_H

#include "kvopt/Core/TimeModel.h"

#include "llvm/Support/Error.h"

#include <array>

namespace kvopt {
namespace solver {

/// Resources in the order HBM, DRAM, H2D, D2H.
constexpr unsigned kNumResources = 4;
using ResourceVec = std::array<double, kNumResources>;

/// Dot product of a weight vector with a time vector.
inline double dot(const ResourceVec &a, const ResourceVec &b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
}

/// Seconds each action adds to each resource (exclusive standard mode).
struct ResourceCosts {
  ResourceVec hit{};        ///< one entry read from HBM
  ResourceVec miss{};       ///< one entry read from DRAM over the link
  ResourceVec promote{};    ///< one entry moved DRAM -> HBM
  ResourceVec demote{};     ///< one entry moved HBM -> DRAM
  ResourceVec appendHbm{};  ///< the new token written to HBM
  ResourceVec appendDram{}; ///< the new token written to DRAM
  ResourceVec weights{};    ///< fixed per (step, layer): weight reads
  double fixedStepSeconds = 0;

  /// Derive from a time model. Only the standard mode with an exclusive
  /// hierarchy is linear in this way; other modes are an error that says so.
  static llvm::Expected<ResourceCosts> fromModel(const TimeModel &model);
};

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_RESOURCECOSTS_H
