//===- PlanPolicy.h - Replay a relaxed plan, repaired to feasibility -*- C++ -*-===//
//
// Turns the per-block plan of the Lagrangian relaxation into decisions the
// simulator accepts. A block planned to be in HBM at its read of step i is
// promoted at its own record of step i-1 (right after its previous read);
// a block planned out of HBM is demoted there. The capacity is enforced at
// every record: demotions first, then the new block, then promotions by
// priority while space remains; a promotion that does not fit waits and is
// retried at the block's next records while the plan still wants it. The
// result is feasible by construction; its time is what the simulator says.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_PLANPOLICY_H
#define KVOPT_SOLVER_PLANPOLICY_H

#include "kvopt/Core/Policy.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/LagrangianBound.h"

#include <memory>

namespace kvopt {
namespace solver {

/// A policy following `plan` (which must outlive it) on the trace that
/// `accesses` was built from.
std::unique_ptr<Policy> createPlanPolicy(const BlockPlan &plan,
                                         const BlockAccesses &accesses,
                                         std::string name = "lagrangian-plan");

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_PLANPOLICY_H
