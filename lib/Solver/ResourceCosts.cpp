//===- ResourceCosts.cpp - Per-entry resource times of each action --------===//
//
// Mirrors TimeModel::standardStep for the exclusive hierarchy term by term.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/ResourceCosts.h"
#include "kvopt/Core/Error.h"

using namespace kvopt;
using namespace kvopt::solver;

llvm::Expected<ResourceCosts> ResourceCosts::fromModel(const TimeModel &model) {
  const TimeModelParams &p = model.params();
  if (p.mode != TimeModelMode::Standard)
    return makeFieldError("solver", "time_model",
                          "the bound and the exact model are defined for the "
                          "standard time model (kvopt-v1); paper mode is "
                          "not linear in the step counts");
  if (p.hierarchy != Hierarchy::Exclusive)
    return makeFieldError("solver", "hierarchy",
                          "the bound and the exact model are defined for the "
                          "exclusive hierarchy; the inclusive hierarchy "
                          "is not supported yet");
  const double e = p.entryBytes;
  ResourceCosts c;
  // HBM time = read/hbmRead + write/hbmWrite, DRAM likewise, links one
  // direction each (TimeModel::standardStep).
  c.hit = {e / p.hbmRead, 0, 0, 0};
  c.miss = {0, e / p.dramRead, e / p.h2d, 0};
  c.promote = {e / p.hbmWrite, e / p.dramRead, e / p.h2d, 0};
  c.demote = {e / p.hbmRead, e / p.dramWrite, 0, e / p.d2h};
  c.appendHbm = {e / p.hbmWrite, 0, 0, 0};
  c.appendDram = {0, e / p.dramWrite, 0, e / p.d2h};
  c.weights = {p.weightBytesPerStep / p.hbmRead, 0, 0, 0};
  c.fixedStepSeconds = p.fixedStepSeconds;
  return c;
}
