//===- Solve.h - the planner's call into the solver -------------*- C++ -*-===//
//
// Part of kv-opt. Private to lib/Planning: adapts the solver library's
// interface to what planPlacement needs.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_PLANNING_SOLVE_H
#define KVOPT_LIB_PLANNING_SOLVE_H

#include "kvopt/Planning/Planner.h"

namespace kvopt {

/// What the solver returns: a proven bound and a schedule.
struct SolveOutcome {
  std::string method;
  double boundSeconds = 0;
  std::string boundMethod;
  /// The solver proved the schedule optimal (exact methods only).
  bool provedOptimal = false;
  /// The solver stopped at its time limit.
  bool timedOut = false;
  /// The time the solver expects the schedule to take (checked against the
  /// simulator by planPlacement).
  double expectedScheduleSeconds = -1;
  Schedule schedule;
  std::vector<std::string> notes;
  /// Every valid bound computed (name, seconds); the best is boundSeconds.
  std::vector<std::pair<std::string, double>> bounds;
  /// The solver's result as returned (its schedule moved to `schedule`).
  solver::SolveResult details;
};

llvm::Expected<SolveOutcome> solveBoundAndSchedule(const Problem &problem,
                                                   const TraceFactory &trace,
                                                   const PlanOptions &options);

} // namespace kvopt

#endif // KVOPT_LIB_PLANNING_SOLVE_H
