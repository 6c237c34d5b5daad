//===- CapacityBound.h - Per-step capacity lower bound ----------*- C++ -*-===//
//
// Part of kv-opt. A valid lower bound on the total decode time of every
// capacity-feasible schedule (docs/bound.md, "capacity bound"): the reads
// of a decode step can hit only in blocks that are in HBM when they are
// read; at most C blocks are resident when the step starts, and a block
// promoted during the step costs at least a miss on every resource. So a
// step's hits are at most the sum of the C largest per-block read counts
// of that step, and the step costs at least the cheapest max-over-resources
// time over every hit count up to that sum (and every split of its appends
// between the tiers). One pass over the trace's changes plus a top-C pick
// per step from a histogram of read counts; independent of thread count.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_CAPACITYBOUND_H
#define KVOPT_SOLVER_CAPACITYBOUND_H

#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/ResourceCosts.h"

#include <cstdint>
#include <vector>

namespace kvopt {
namespace solver {

struct CapacityBoundResult {
  /// The bound in seconds, after the floating-point safety margin.
  double bound = 0;
  /// Per decode step: the most hits any capacity-feasible schedule can
  /// have (the C largest read counts) and the step's lower bound (s).
  std::vector<uint64_t> maxHits;
  std::vector<double> stepSeconds;
};

/// The per-step capacity bound of `accesses` with `capacityBlocks` blocks
/// of HBM under the exclusive standard time model `costs`.
CapacityBoundResult capacityStepBound(const BlockAccesses &accesses,
                                      const ResourceCosts &costs,
                                      uint64_t capacityBlocks);

/// The cheapest step: min over h in [0, maxHits] and a in [0, appends] of
/// max_r (K_r + h hit_r + (reads - h) miss_r + a appH_r + (appends - a)
/// appD_r), with K_r = groups * weights_r; plus groups * fixed. Exact (a
/// vertex enumeration of the convex piecewise-linear objective), no margin.
double cheapestStepSeconds(const ResourceCosts &costs, double groups,
                           double reads, double maxHits, double appends);

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_CAPACITYBOUND_H
