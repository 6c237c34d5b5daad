//===- PlanStatus.h - The one status of a plan ------------------*- C++ -*-===//
//
// Part of kv-opt. What a plan's bound and schedule certify, spelled once:
// the solver drivers (planPlacement, solvePlacement), the reports and the
// `#kvtier.plan` attribute (its ODS enum has the same cases and names) all
// use this enum and these names.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_PLANSTATUS_H
#define KVOPT_SOLVER_PLANSTATUS_H

namespace kvopt {

enum class PlanStatus {
  /// The exact model proved the schedule optimal (its bound equals it).
  Optimal,
  /// gap = (schedule - bound) / schedule <= kPlanGapTolerance.
  GapClosed,
  /// A valid bound and a feasible schedule further apart than that.
  GapOpen,
  /// A time limit stopped the search (the exact model or the user's limit
  /// on the dual ascent): the bound is valid, the gap is not closed, and
  /// the result may depend on the machine's speed.
  TimeLimit
};

/// Relative gap under which a plan counts as closed.
constexpr double kPlanGapTolerance = 0.02;

/// "optimal", "gap_closed", "gap_open", "time_limit".
const char *planStatusName(PlanStatus status);

/// The status of a plan whose gap is `gap`: TimeLimit when a limit stopped
/// the search, else Optimal when proved, else by the gap.
PlanStatus classifyPlan(double gap, bool provedOptimal, bool stoppedByLimit);

} // namespace kvopt

#endif // KVOPT_SOLVER_PLANSTATUS_H
