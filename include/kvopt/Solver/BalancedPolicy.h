//===- BalancedPolicy.h - A schedule that keeps every step balanced -*- C++ -*-===//
//
// The bound's multipliers say what an optimal schedule does: in every step
// the HBM and the link finish together (mu sits at the bandwidth-balanced
// point) and a promotion is worth its link bytes only when the block stays in
// the read set long enough. This oracle policy (it reads the future of the
// trace from BlockAccesses) follows that: at each record it computes the
// hits that balance the next step of the same (layer, sequence), and
// promotes the missing blocks with the longest remaining read interval until
// the target is met, using the link's idle time in this step first; victims
// are HBM blocks not being read, least recently read first. Feasible by
// construction; its time is what the simulator says.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_BALANCEDPOLICY_H
#define KVOPT_SOLVER_BALANCEDPOLICY_H

#include "kvopt/Core/Policy.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/ResourceCosts.h"

#include <memory>

namespace kvopt {
namespace solver {

struct BalancedOptions {
  /// A promotion beyond the link's idle time in this step is made only for
  /// blocks that stay in the read set at least this many more steps.
  uint32_t minStayBeyondSlack = 8;
  /// No promotion for blocks leaving the read set within this many steps.
  uint32_t minStay = 2;
  /// Target hits as a fraction of the balanced hits (>= 1 leans to HBM).
  double targetScale = 1.0;
};

std::unique_ptr<Policy> createBalancedPolicy(const BlockAccesses &accesses,
                                             const ResourceCosts &costs,
                                             const BalancedOptions &options = {});

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_BALANCEDPOLICY_H
