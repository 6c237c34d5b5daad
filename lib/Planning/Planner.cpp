//===- Planner.cpp - bound, schedule and baselines for one problem --------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Planner.h"

#include "Solve.h"

#include "kvopt/Core/Policies.h"

#include "llvm/ADT/STLExtras.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <thread>

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
  // Baselines are independent simulations (each opens its own trace and
  // policy): run them on a few threads; results keep the listed order.
  struct Outcome {
    std::optional<PolicyRun> run;
    std::string error;
  };
  std::vector<Outcome> outcomes(names.size());
  std::atomic<size_t> nextIndex{0};
  std::mutex progressMutex;
  auto worker = [&]() {
    for (size_t i = nextIndex++; i < names.size(); i = nextIndex++) {
      if (options.progress && elapsed() > 1.0) {
        std::lock_guard<std::mutex> lock(progressMutex);
        options.progress("simulating baseline '" + names[i] + "'");
      }
      llvm::Expected<std::unique_ptr<Policy>> policy =
          createPolicyByName(names[i]);
      if (!policy) {
        outcomes[i].error = llvm::toString(policy.takeError());
        continue;
      }
      llvm::Expected<PolicyRun> base =
          runPolicy(problem, trace, **policy, options.seriesPoints);
      if (!base)
        outcomes[i].error = llvm::toString(base.takeError());
      else
        outcomes[i].run = std::move(*base);
    }
  };
  unsigned threads = std::max(
      1u, std::min<unsigned>(options.threads ? options.threads
                                             : std::thread::hardware_concurrency(),
                             unsigned(names.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool)
    t.join();
  for (size_t i = 0; i < names.size(); ++i) {
    if (outcomes[i].run) {
      result.baselines.push_back(std::move(*outcomes[i].run));
      continue;
    }
    // An unknown name is the user's error; an oracle refusing a trace too
    // large for it is reported and skipped.
    if (!llvm::is_contained(listPolicyNames(), names[i]))
      return llvm::createStringError("unknown baseline policy '%s'",
                                     names[i].c_str());
    result.notes.push_back("baseline '" + names[i] +
                           "' skipped: " + outcomes[i].error);
  }
  return result;
}
