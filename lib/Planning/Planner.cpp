//===- Planner.cpp - bound, schedule and baselines for one problem --------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Planning/Planner.h"

#include "llvm/Support/FormatVariadic.h"

#include "Solve.h"

#include "kvopt/Core/Policies.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <thread>

using namespace kvopt;


/// Gap and status of `result` from its bound and simulated schedule.
static llvm::Error finishStatus(PlanResult &result) {
  if (result.boundSeconds > result.scheduleSeconds * (1 + 1e-9))
    return llvm::createStringError(
        "internal error: bound %.9g s exceeds the simulated schedule %.9g s",
        result.boundSeconds, result.scheduleSeconds);
  result.gap = result.scheduleSeconds > 0
                   ? (result.scheduleSeconds - result.boundSeconds) /
                         result.scheduleSeconds
                   : 0;
  result.status =
      classifyPlan(result.gap, result.provedOptimal, result.timedOut);
  return llvm::Error::success();
}

/// Makes the baseline `name` the plan: simulates it again recording its
/// decisions (its schedule is a feasible one) and replaces the plan's
/// schedule and run. `expected` is its time in the baseline table.
static llvm::Error adoptBaseline(const Problem &problem,
                                 const TraceFactory &trace,
                                 const PlanOptions &options,
                                 const std::string &name, double expected,
                                 PlanResult &result) {
  llvm::Expected<std::unique_ptr<Policy>> policy = createPolicyByName(name);
  if (!policy)
    return policy.takeError();
  Schedule schedule;
  std::unique_ptr<Policy> recording =
      createRecordingPolicy(**policy, schedule);
  llvm::Expected<PolicyRun> run =
      runPolicy(problem, trace, *recording, options.seriesPoints);
  if (!run)
    return run.takeError();
  if (run->metrics.totalSeconds != expected)
    return llvm::createStringError(
        "internal error: baseline '%s' took %.9g s recorded, %.9g s before",
        name.c_str(), run->metrics.totalSeconds, expected);
  // The solver's own summary of its schedule no longer describes the plan.
  llvm::erase_if(result.notes, [](const std::string &n) {
    return llvm::StringRef(n).starts_with("valid bound (");
  });
  result.notes.push_back(
      "the baseline '" + name + "' (" + llvm::formatv("{0:e6}", expected).str() +
      " s) beat the solver's schedule (" +
      llvm::formatv("{0:e6}", result.scheduleSeconds).str() +
      " s); the plan is its schedule (the plan is the fastest "
      "capacity-feasible schedule among the solver's candidates and the "
      "capacity-respecting baselines)");
  result.planner += ", schedule: " + name;
  result.schedulePolicy = name;
  result.schedule = std::move(schedule);
  result.plan = std::move(*run);
  result.plan.metrics.policy = "plan";
  if (result.provedOptimal)
    result.notes.push_back("the solver's claim of optimality is withdrawn: "
                           "a baseline is faster");
  result.provedOptimal = false;
  result.scheduleSeconds = result.plan.metrics.totalSeconds;
  return llvm::Error::success();
}

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
  result.boundMethod = solved->boundMethod;
  result.bounds = std::move(solved->bounds);
  result.notes = std::move(solved->notes);
  result.schedule = std::move(solved->schedule);
  result.solver = std::move(solved->details);
  result.schedulePolicy = result.solver.schedulePolicy;
  result.solveSeconds = elapsed();

  if (!options.replaySchedule) {
    // The solver's recording run is the simulator's run of this schedule.
    result.plan.metrics = result.solver.scheduleMetrics;
    result.plan.metrics.policy = "plan";
  } else {
    // The schedule's time is what the simulator says on a replay, never
    // the solver's own figure; the two must agree.
    if (options.progress && elapsed() > 1.0)
      options.progress("replaying the schedule");
    std::unique_ptr<Policy> replay =
        createSchedulePolicy(result.schedule, "plan");
    llvm::Expected<PolicyRun> run =
        runPolicy(problem, trace, *replay, options.seriesPoints);
    if (!run)
      return run.takeError();
    result.plan = std::move(*run);
    result.plan.metrics.policy = "plan";
  }
  result.scheduleSeconds = result.plan.metrics.totalSeconds;
  if (options.replaySchedule && options.strictReplay &&
      solved->expectedScheduleSeconds != result.scheduleSeconds)
    return llvm::createStringError(
        "replaying the recorded schedule gave %.17g s, the recording run "
        "%.17g s",
        result.scheduleSeconds, solved->expectedScheduleSeconds);
  if (solved->expectedScheduleSeconds >= 0 &&
      std::fabs(solved->expectedScheduleSeconds - result.scheduleSeconds) >
          1e-9 * std::max(1.0, result.scheduleSeconds))
    result.notes.push_back(
        "the solver expected " + std::to_string(solved->expectedScheduleSeconds) +
        " s for its schedule; the simulator measured " +
        std::to_string(result.scheduleSeconds) + " s (the simulator's is used)");
  result.provedOptimal = solved->provedOptimal;
  result.timedOut = solved->timedOut;
  if (!std::isfinite(result.boundSeconds) || result.boundSeconds < 0)
    return llvm::createStringError(
        "internal error: the solver returned an invalid bound (%g s)",
        result.boundSeconds);
  if (auto e = finishStatus(result))
    return std::move(e);
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
    bool respectsCapacity = false;
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
      outcomes[i].respectsCapacity = !(*policy)->ignoresCapacity();
      llvm::Expected<PolicyRun> base =
          runPolicy(problem, trace, **policy, options.seriesPoints);
      if (!base) {
        outcomes[i].error = llvm::toString(base.takeError());
      } else {
        outcomes[i].run = std::move(*base);
        outcomes[i].run->ignoresCapacity = !outcomes[i].respectsCapacity;
      }
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
  // The portfolio: the fastest capacity-respecting baseline, if it beats
  // the solver's schedule (ties keep the solver's, earlier names win).
  std::optional<size_t> faster;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!outcomes[i].run || !outcomes[i].respectsCapacity)
      continue;
    double t = outcomes[i].run->metrics.totalSeconds;
    if (t < (faster ? outcomes[*faster].run->metrics.totalSeconds
                    : result.scheduleSeconds))
      faster = i;
  }
  if (faster) {
    if (auto e = adoptBaseline(problem, trace, options, names[*faster],
                               outcomes[*faster].run->metrics.totalSeconds,
                               result))
      return std::move(e);
  }
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
    result.skippedBaselines.emplace_back(names[i], outcomes[i].error);
  }
  if (faster)
    if (auto e = finishStatus(result))
      return std::move(e);
  return result;
}
