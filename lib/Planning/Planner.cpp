//===- Planner.cpp - bound, schedule and baselines for one problem --------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Planner.h"

#include "Solve.h"

#include "kvopt/Core/Policies.h"

#include <chrono>
#include <cmath>

using namespace kvopt;

/// Relative gap under which a plan counts as closed.
static constexpr double kGapTolerance = 0.02;

llvm::Expected<PlanResult> kvopt::planPlacement(const Problem &problem,
                                                const TraceFactory &trace,
                                                const PlanOptions &options) {
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&]() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  PlanResult result;
  llvm::Expected<SolveOutcome> solved =
      solveBoundAndSchedule(problem, trace, options);
  if (!solved)
    return solved.takeError();
  result.planner = solved->method;
  result.boundSeconds = solved->boundSeconds;
  result.notes = std::move(solved->notes);
  result.schedule = std::move(solved->schedule);
  result.solveSeconds = elapsed();

  // The schedule's time is what the simulator says, never the solver's
  // own estimate; the two must agree.
  std::unique_ptr<Policy> replay = createSchedulePolicy(result.schedule, "plan");
  llvm::Expected<PolicyRun> run =
      runPolicy(problem, trace, *replay, options.seriesPoints);
  if (!run)
    return run.takeError();
  result.plan = std::move(*run);
  result.plan.metrics.policy = "plan";
  result.scheduleSeconds = result.plan.metrics.totalSeconds;
  if (solved->expectedScheduleSeconds >= 0 &&
      std::fabs(solved->expectedScheduleSeconds - result.scheduleSeconds) >
          1e-9 * std::max(1.0, result.scheduleSeconds))
    result.notes.push_back(
        "the solver expected " + std::to_string(solved->expectedScheduleSeconds) +
        " s for its schedule; the simulator measured " +
        std::to_string(result.scheduleSeconds) + " s (the simulator's is used)");
  if (!std::isfinite(result.boundSeconds) || result.boundSeconds < 0)
    return llvm::createStringError(
        "internal error: the solver returned an invalid bound (%g s)",
        result.boundSeconds);
  if (result.boundSeconds > result.scheduleSeconds * (1 + 1e-9))
    return llvm::createStringError(
        "internal error: bound %.9g s exceeds the simulated schedule %.9g s",
        result.boundSeconds, result.scheduleSeconds);
  result.gap = result.scheduleSeconds > 0
                   ? (result.scheduleSeconds - result.boundSeconds) /
                         result.scheduleSeconds
                   : 0;
  if (solved->provedOptimal)
    result.status = "optimal";
  else if (result.gap <= kGapTolerance && !solved->timedOut)
    result.status = "gap_closed";
  else
    result.status = "gap_open";

  if (!options.baselines)
    return result;
  std::vector<std::string> names = options.baselineNames.empty()
                                       ? listPolicyNames()
                                       : options.baselineNames;
  for (const std::string &name : names) {
    // Progress only once the run has lasted a second: short runs stay quiet.
    if (options.progress && elapsed() > 1.0)
      options.progress("simulating baseline '" + name + "'");
    llvm::Expected<std::unique_ptr<Policy>> policy = createPolicyByName(name);
    if (!policy)
      return policy.takeError();
    llvm::Expected<PolicyRun> base =
        runPolicy(problem, trace, **policy, options.seriesPoints);
    if (!base) {
      // An oracle may refuse a trace too large for it; report, don't fail.
      result.notes.push_back("baseline '" + name +
                             "' skipped: " + llvm::toString(base.takeError()));
      continue;
    }
    result.baselines.push_back(std::move(*base));
  }
  return result;
}
