//===- Solver.cpp - Bound, schedule and gap for a placement problem -------===//
//
// Orchestration only: the Lagrangian bound and its plan schedule always
// (they scale); the exact Z3 model and its LP relaxation when the program
// is small enough; optional baseline candidates. Every schedule is run
// through the core simulator, which is the only judge of its time. Gap and
// status are computed by the Planning driver (planPlacement), not here.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/Solver.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/CapacityBound.h"
#include "kvopt/Solver/PlacementProgram.h"
#include "kvopt/Solver/PlanPolicy.h"
#include "kvopt/Solver/ResourceCosts.h"
#include "kvopt/Solver/WindowPlacement.h"
#include "kvopt/Solver/Z3Backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace kvopt;
using namespace kvopt::solver;

llvm::Expected<SolveMethod> kvopt::solver::parseSolveMethod(const std::string &n) {
  if (n == "auto")
    return SolveMethod::Auto;
  if (n == "exact")
    return SolveMethod::Exact;
  if (n == "lagrangian")
    return SolveMethod::Lagrangian;
  return makeFieldError("solver", "method",
                        "unknown method '" + n +
                            "' (expected auto, exact or lagrangian)");
}

namespace {

/// The exact model's budget when the user sets no time limit.
constexpr double kExactSeconds = 60;
/// The same when `auto` chose the exact model (it should take seconds).
constexpr double kAutoExactSeconds = 10;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Simulate `policy` while recording its decisions.
llvm::Expected<SimMetrics> simulateRecorded(const TraceSource &trace,
                                            const Problem &problem,
                                            Policy &policy, Schedule &out) {
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  auto rec = createRecordingPolicy(policy, out);
  return simulate(**src, problem, *rec);
}

llvm::Expected<SimMetrics> replay(const TraceSource &trace,
                                  const Problem &problem,
                                  const Schedule &schedule,
                                  const std::string &name) {
  auto src = trace.reopen();
  if (!src)
    return src.takeError();
  auto pol = createSchedulePolicy(schedule, name);
  return simulate(**src, problem, *pol);
}

/// Keep `metrics`/`schedule` as the result's schedule if it is faster.
void offer(SolveResult &res, SimMetrics metrics, Schedule &&schedule,
           const std::string &name) {
  if (!res.schedulePolicy.empty() && metrics.totalSeconds >= res.scheduleSeconds)
    return;
  res.scheduleSeconds = metrics.totalSeconds;
  res.scheduleMetrics = std::move(metrics);
  res.schedule = std::move(schedule);
  res.schedulePolicy = name;
}

/// The exact model and its relaxation; updates bound, schedule, status.
llvm::Error solveExact(const Problem &problem, const TraceSource &trace,
                       const SolveOptions &opt, double budget,
                       SolveResult &res) {
  ProgramLimits limits;
  limits.maxVariables = opt.exactMaxVariables;
  auto prog = buildPlacementProgram(problem, trace, limits);
  if (!prog)
    return prog.takeError();
  res.unitsPerSecond = prog->unitsPerSecond;
  if (opt.progress)
    opt.progress("exact: Z3 on " + std::to_string(prog->variables()) +
                     " variables (budget " +
                     std::to_string(int(std::lround(budget))) + " s)",
                 0);
  auto t0 = Clock::now();
  if (opt.lpRelaxation) {
    auto lp = solveWithZ3(*prog, true, std::max(1.0, budget * 0.3));
    if (!lp)
      return lp.takeError();
    if (lp->status == Z3Solution::Status::Optimal) {
      // The LP optimum is exact; one rounding to double, then a margin.
      res.lpBound = prog->toSeconds(lp->objectiveUnits) * (1 - 1e-12);
      if (res.lpBound > res.boundSeconds) {
        res.boundSeconds = res.lpBound;
        res.boundMethod = "z3-lp-relaxation";
      }
    }
  }
  auto ex = solveWithZ3(*prog, false, std::max(1.0, budget - since(t0)));
  if (!ex)
    return ex.takeError();
  if (ex->status == Z3Solution::Status::Infeasible)
    return makeFieldError("exact model", "capacity",
                          "Z3 found the program infeasible; this cannot "
                          "happen for a valid problem (all blocks in DRAM is "
                          "always feasible) and indicates a model error");
  if (ex->status == Z3Solution::Status::Timeout) {
    res.stoppedByTimeLimit = true;
    res.message = "the exact model timed out after " +
                  std::to_string(ex->seconds) +
                  " s; the bound is the best valid one found and the gap "
                  "is open";
    if (std::isfinite(ex->lowerUnits)) {
      double lo = prog->toSeconds(ex->lowerUnits) * (1 - 1e-12);
      if (lo > res.boundSeconds) {
        res.boundSeconds = lo;
        res.boundMethod = "z3-partial";
      }
    }
    return llvm::Error::success();
  }
  res.exactOptimum = prog->toSeconds(ex->objectiveUnits);
  res.exactOptimumUnits = ex->objectiveExact;
  Schedule sched = prog->toSchedule(ex->values);
  auto m = replay(trace, problem, sched, "z3-exact");
  if (!m)
    return m.takeError();
  // The optimum is both the bound and (as the schedule's time) the
  // schedule, up to the simulator's floating-point rounding.
  res.boundSeconds = std::max(res.boundSeconds, res.exactOptimum * (1 - 1e-12));
  res.boundMethod = "z3-exact";
  res.schedulePolicy.clear();
  offer(res, std::move(*m), std::move(sched), "z3-exact");
  res.provedOptimal = true;
  return llvm::Error::success();
}

/// Forwards progress reports and repeats the last one every second while
/// nothing new is reported (a long Z3 call or simulation), so a run is
/// never silent for more than about a second. Calls are serialised.
class Heartbeat {
public:
  explicit Heartbeat(ProgressFn inner) : inner(std::move(inner)) {
    if (this->inner)
      thread = std::thread([this] { beat(); });
  }
  ~Heartbeat() {
    if (!thread.joinable())
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    wake.notify_all();
    thread.join();
  }
  ProgressFn fn() {
    if (!inner)
      return {};
    return [this](const std::string &phase, double done) {
      std::lock_guard<std::mutex> lock(mutex);
      last = {phase, done};
      lastCall = Clock::now();
      inner(phase, done);
    };
  }

private:
  void beat() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stop) {
      wake.wait_for(lock, std::chrono::milliseconds(250));
      if (stop)
        break;
      if (since(lastCall) >= 1.0) {
        lastCall = Clock::now();
        inner(last.first.empty() ? std::string("starting") : last.first,
              last.second);
      }
    }
  }

  ProgressFn inner;
  std::mutex mutex;
  std::condition_variable wake;
  std::pair<std::string, double> last{"", 0};
  Clock::time_point lastCall = Clock::now();
  bool stop = false;
  std::thread thread;
};

} // namespace

llvm::Expected<SolveResult>
kvopt::solver::solvePlacement(const Problem &problem, const TraceSource &trace,
                              const SolveOptions &options) {
  Heartbeat heartbeat(options.progress);
  SolveOptions opt = options;
  opt.progress = heartbeat.fn();
  auto tStart = Clock::now();
  auto costs = ResourceCosts::fromModel(problem.model);
  if (!costs)
    return costs.takeError();
  if (auto e = checkTraceMatchesWorkload(trace.header(), problem.work,
                                         trace.describe()))
    return std::move(e);
  SolveResult res;
  auto acc = BlockAccesses::build(trace, problem.work, opt.progress);
  if (!acc)
    return acc.takeError();
  res.indexSeconds = since(tStart);

  const Workload &w = problem.work;
  uint64_t N = uint64_t(w.batch) * w.model.layers * w.blocksPerSeqLayer();
  uint64_t R = uint64_t(w.decodeSteps) * w.model.layers * w.batch;
  bool exact = opt.method == SolveMethod::Exact ||
               (opt.method == SolveMethod::Auto &&
                N * (R + 1) * 3 + R <= opt.autoExactMaxVariables);

  // The Lagrangian bound (always: it is cheap where the exact model fits).
  auto tBound = Clock::now();
  LagrangianBound lb(*acc, *costs, problem.capacityBlocks);
  LagrangianOptions lo = opt.lagrangian;
  // Only a limit the user set stops the ascent (then the status says so);
  // otherwise its iteration budget decides and the result is repeatable.
  if (opt.timeLimitSeconds > 0) {
    double share = opt.timeLimitSeconds * (exact ? 0.2 : 1.0);
    lo.timeLimitSeconds =
        lo.timeLimitSeconds > 0 ? std::min(lo.timeLimitSeconds, share) : share;
  }
  if (!lo.progress)
    lo.progress = opt.progress;
  BlockPlan plan;
  bool planSchedule =
      opt.planSchedule && (opt.planScheduleMaxEvents == 0 ||
                           acc->totalEvents() <= opt.planScheduleMaxEvents);
  res.planScheduleSkipped = opt.planSchedule && !planSchedule;
  LagrangianResult lr = lb.optimize(lo, planSchedule ? &plan : nullptr);
  res.lagrangianBound = lr.bound;
  res.dualIterations = lr.iterations;
  res.sampleStride = lr.sampleStride;
  res.boundSeconds = lr.bound;
  res.boundMethod = "lagrangian";
  // The per-step capacity bound (one pass over the trace's changes); the
  // tighter of the two is the reported bound.
  res.capacityBound =
      capacityStepBound(*acc, *costs, problem.capacityBlocks).bound;
  if (res.capacityBound > res.boundSeconds) {
    res.boundSeconds = res.capacityBound;
    res.boundMethod = "capacity";
  }
  res.boundWallSeconds = since(tBound);
  if (lr.stoppedByTimeLimit) {
    res.stoppedByTimeLimit = true;
    res.message = "the time limit stopped the dual ascent after " +
                  std::to_string(lr.iterations) + " of " +
                  std::to_string(lo.maxIterations
                                     ? lo.maxIterations
                                     : lb.defaultIterations(
                                           lo.windows, lr.sampleStride)) +
                  " iterations; the bound is valid but the result depends "
                  "on the machine's speed";
  }

  // The schedules: the balanced oracle (primary), and the relaxed plan
  // repaired to feasibility.
  auto tSched = Clock::now();
  {
    auto policy = createBalancedPolicy(*acc, *costs, opt.balanced);
    Schedule sched;
    if (opt.progress)
      opt.progress("schedule: simulating the balanced oracle", 0);
    auto m = simulateRecorded(trace, problem, *policy, sched);
    if (!m)
      return m.takeError();
    offer(res, std::move(*m), std::move(sched), policy->name());
  }
  // Per-window placement by read counts (WindowPlacement.h), on runs of at
  // most kWindowMaxDecodeSteps steps (beyond, it never won: a size rule).
  bool windows =
      opt.windowSchedules && w.decodeSteps <= kWindowMaxDecodeSteps;
  if (opt.windowSchedules && !windows && opt.progress)
    opt.progress("schedule: window placement skipped (" +
                     std::to_string(w.decodeSteps) + " decode steps, above " +
                     std::to_string(kWindowMaxDecodeSteps) + ")",
                 0);
  for (const WindowOptions &wo :
       windows ? windowCandidates() : std::vector<WindowOptions>()) {
    auto policy = createWindowPlacementPolicy(*acc, *costs,
                                              problem.capacityBlocks, wo);
    Schedule sched;
    if (opt.progress)
      opt.progress("schedule: simulating " + policy->name(), 0);
    auto m = simulateRecorded(trace, problem, *policy, sched);
    if (!m)
      return m.takeError();
    offer(res, std::move(*m), std::move(sched), policy->name());
  }
  if (planSchedule) {
    auto policy = createPlanPolicy(plan, *acc);
    Schedule sched;
    if (opt.progress)
      opt.progress("schedule: simulating the relaxed plan", 0);
    auto m = simulateRecorded(trace, problem, *policy, sched);
    if (!m)
      return m.takeError();
    offer(res, std::move(*m), std::move(sched), policy->name());
  }
  plan = BlockPlan();
  for (const std::string &name : opt.candidatePolicies) {
    auto pol = createPolicyByName(name);
    if (!pol)
      return pol.takeError();
    if ((*pol)->ignoresCapacity())
      return makeFieldError("solver", "candidate",
                            "policy '" + name +
                                "' ignores the HBM capacity; it is not a "
                                "feasible schedule");
    Schedule sched;
    auto m = simulateRecorded(trace, problem, **pol, sched);
    if (!m)
      return m.takeError();
    offer(res, std::move(*m), std::move(sched), (*pol)->name());
  }
  res.scheduleWallSeconds = since(tSched);

  if (exact) {
    // Z3 needs a wall-clock budget: the user's limit, else kExactSeconds.
    double limit = opt.timeLimitSeconds > 0 ? opt.timeLimitSeconds
                   : opt.method == SolveMethod::Auto ? kAutoExactSeconds
                                                     : kExactSeconds;
    double budget = std::max(1.0, limit - since(tStart));
    if (auto e = solveExact(problem, trace, opt, budget, res))
      return std::move(e);
  }
  if (opt.verifyReplay) {
    auto m = replay(trace, problem, res.schedule, res.schedulePolicy);
    if (!m)
      return m.takeError();
    if (m->totalSeconds != res.scheduleSeconds)
      return makeFieldError("solver", "schedule",
                            "replaying the recorded schedule gave " +
                                std::to_string(m->totalSeconds) +
                                " s, the recording run " +
                                std::to_string(res.scheduleSeconds) + " s");
  }
  if (res.message.empty())
    res.message = "valid bound (" + res.boundMethod + ") and a feasible "
                  "schedule (" + res.schedulePolicy + ")";
  if (res.planScheduleSkipped)
    res.message += "; the relaxed plan was not simulated (" +
                   std::to_string(acc->totalEvents()) +
                   " trace events, above the size limit of " +
                   std::to_string(opt.planScheduleMaxEvents) + ")";
  if (opt.windowSchedules && !windows)
    res.message += "; the window placement was not simulated (" +
                   std::to_string(w.decodeSteps) +
                   " decode steps, above the size rule's " +
                   std::to_string(kWindowMaxDecodeSteps) + ")";
  if (res.provedOptimal && !res.stoppedByTimeLimit)
    res.message = "the exact model was solved to optimality; the schedule "
                  "attains it";
  return std::move(res);
}
