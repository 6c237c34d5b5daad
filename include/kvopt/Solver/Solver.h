//===- Solver.h - Bound, schedule and gap for a placement problem -*- C++ -*-===//
//
// The solver's half of planning: every valid bound it can compute and the
// fastest of its candidate schedules (each simulated by the core, which is
// the only judge of a schedule's time):
//
//   solver::SolveOptions opts;              // method, time limit, progress
//   auto r = solver::solvePlacement(problem, trace, opts);
//   r->boundSeconds, r->boundMethod, r->scheduleSeconds, r->schedule
//
// The gap, the status, the portfolio with the baselines and the reports are
// the Planning driver's (kvopt::planPlacement, Planner.h), which kv-opt and
// kv-solve both call. The bound is valid for every schedule of the time
// model (docs/bound.md); the schedule is feasible.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_SOLVER_H
#define KVOPT_SOLVER_SOLVER_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/Trace.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/LagrangianBound.h"
#include "kvopt/Solver/PlanStatus.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kvopt {
namespace solver {

enum class SolveMethod {
  /// Exact (Z3) when the integer program is tiny (autoExactMaxVariables),
  /// else Lagrangian.
  Auto,
  /// Z3 integer program: the true optimum, or on timeout the best bound.
  Exact,
  /// Lagrangian bound + plan schedule, at any scale.
  Lagrangian
};

/// The status is the one plan status (PlanStatus.h); kept under this name
/// for the solver's callers.
using SolveStatus = PlanStatus;

llvm::Expected<SolveMethod> parseSolveMethod(const std::string &name);

struct SolveOptions {
  SolveMethod method = SolveMethod::Auto;
  /// Wall-clock budget for the bound (the schedule's simulation is extra);
  /// 0 = none: the dual ascent runs its iteration budget (repeatable) and
  /// the exact model, where chosen, stops after 60 s. A limit that stops
  /// the search makes the status Timeout.
  double timeLimitSeconds = 0;
  /// The exact model refuses programs above this many variables.
  uint64_t exactMaxVariables = 4000;
  /// Auto uses the exact model only up to this many variables, a size at
  /// which Z3 finishes in seconds (docs/bound.md, "auto"); larger problems
  /// get the Lagrangian and capacity bounds. A size rule, not a time rule,
  /// so the choice is the same on every machine.
  uint64_t autoExactMaxVariables = 200;
  /// Also solve the LP relaxation with Z3 when the exact model is built.
  bool lpRelaxation = true;
  LagrangianOptions lagrangian;
  /// The primary schedule: the balanced oracle (BalancedPolicy.h).
  BalancedOptions balanced;
  /// Also simulate the per-window placement schedules (WindowPlacement.h,
  /// one simulation per windowCandidates() entry) and keep the fastest.
  bool windowSchedules = true;
  /// Also simulate the relaxed plan repaired to feasibility (PlanPolicy.h)
  /// and keep the faster schedule; costs one more simulation and the
  /// plan's memory (a few bytes per block and switch).
  bool planSchedule = true;
  /// ... but only up to this many trace events (a size rule; at the seed's
  /// full scale, 4.7e8 events, the balanced oracle was faster in every
  /// measured case, docs/bound.md section 5); 0 = no limit.
  uint64_t planScheduleMaxEvents = 100000000;
  /// Replay the recorded schedule through createSchedulePolicy and check
  /// that the simulator gives the same time (doubles the simulation time).
  bool verifyReplay = false;
  /// Extra candidate schedules: core policy names (Policies.h) simulated
  /// and recorded; the best feasible one is reported (with its name).
  std::vector<std::string> candidatePolicies;
  ProgressFn progress;
};

struct SolveResult {
  /// The exact model was solved to optimality (its schedule attains it).
  bool provedOptimal = false;
  /// A time limit stopped the exact model or the dual ascent.
  bool stoppedByTimeLimit = false;
  std::string message;
  /// Best valid lower bound on the total decode time, seconds.
  double boundSeconds = 0;
  std::string boundMethod;
  /// Individual bounds where computed (negative = not computed).
  double lagrangianBound = -1, capacityBound = -1, lpBound = -1,
         exactOptimum = -1;
  std::string exactOptimumUnits; ///< exact rational in 1/unitsPerSecond s
  int64_t unitsPerSecond = 0;
  /// The schedule and its simulated time.
  Schedule schedule;
  std::string schedulePolicy;
  SimMetrics scheduleMetrics;
  double scheduleSeconds = 0;
  /// Wall time of the phases, seconds.
  double indexSeconds = 0, boundWallSeconds = 0, scheduleWallSeconds = 0;
  uint32_t dualIterations = 0;
  /// The dual ascent's sample stride (1 = every block).
  uint32_t sampleStride = 1;
  /// The relaxed plan was not simulated (planScheduleMaxEvents).
  bool planScheduleSkipped = false;
};

/// Bounds + best candidate schedule for `problem` on `trace` (reopened as needed).
llvm::Expected<SolveResult> solvePlacement(const Problem &problem,
                                           const TraceSource &trace,
                                           const SolveOptions &options = {});

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_SOLVER_H
