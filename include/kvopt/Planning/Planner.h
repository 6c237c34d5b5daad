//===- Planner.h - plan a problem: bound, schedule, baselines ---*- C++ -*-===//
//
// Part of kv-opt. The MLIR-free driver behind `--kvtier-plan-kv-tiers` and
// `kv-solve`: given a problem and a way to open its trace, it computes the
// proven bound and the schedule (the solver), simulates the baselines, and
// collects what the reports need (per-layer splits, per-step series).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_PLANNING_PLANNER_H
#define KVOPT_PLANNING_PLANNER_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/Trace.h"
#include "kvopt/Solver/PlanStatus.h"
#include "kvopt/Solver/Solver.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kvopt {

/// Opens a fresh stream over the same trace each time it is called.
using TraceFactory =
    std::function<llvm::Expected<std::unique_ptr<TraceSource>>()>;

/// A per-step series downsampled to at most `points` buckets (each bucket
/// averages consecutive (step, layer) records), for plots.
struct StepSeries {
  /// First (step, layer) index of each bucket.
  std::vector<uint64_t> start;
  /// Mean HBM occupancy (blocks) and mean bytes per resource per step.
  std::vector<double> hbmBlocks, hbmBytes, dramBytes, h2dBytes, d2hBytes;
  /// Mean step time (seconds).
  std::vector<double> seconds;
};

/// One simulated policy with the details the reports need.
struct PolicyRun {
  SimMetrics metrics;
  /// The policy may exceed the HBM capacity (not a feasible schedule).
  bool ignoresCapacity = false;
  /// Per layer (all sequences): KV entries read and hits.
  std::vector<uint64_t> layerReads, layerHits;
  /// Per layer (schedules only, see scheduleLayerStats): initial and peak
  /// HBM blocks, promotions and demotions.
  std::vector<uint64_t> layerInitialHbm, layerPeakHbm;
  std::vector<uint64_t> layerPromotions, layerDemotions;
  StepSeries series;
};

struct PlanOptions {
  /// "auto", "lagrangian", "z3".
  std::string solver = "auto";
  /// Seconds, 0 = none (SolveOptions::timeLimitSeconds).
  double timeLimitSeconds = 0;
  /// Simulate the baselines too.
  bool baselines = true;
  /// Baseline policy names (createPolicyByName); empty = all of them.
  std::vector<std::string> baselineNames;
  /// Threads for the solver's bound and the baselines (0: one per core).
  unsigned threads = 0;
  /// Buckets of the per-step series.
  unsigned seriesPoints = 400;
  /// Receives progress lines for long runs (may be empty).
  std::function<void(const std::string &)> progress;

  /// The solver's knobs (kv-solve's options; kv-opt keeps the defaults).
  /// Multiplier windows, dual-ascent iterations (0: by size), the block
  /// stride of the ascent (0: by size).
  unsigned windows = 32, iterations = 0, sampleStride = 0;
  /// Also simulate the relaxed plan as a candidate schedule.
  bool planSchedule = true;
  /// Extra candidate schedules (core policy names) for the solver.
  std::vector<std::string> candidates;
  /// Replay the solver's schedule through createSchedulePolicy and use that
  /// run (the per-layer and per-step data of the reports come from it).
  /// Off: the solver's own simulation of the schedule is used (the
  /// simulator's too; one simulation less, no per-step series).
  bool replaySchedule = true;
  /// With replaySchedule: a replay that differs from the solver's
  /// simulation in any bit is an error, not a note.
  bool strictReplay = false;
};

struct PlanResult {
  /// The method that produced the bound and schedule.
  std::string planner;
  /// classifyPlan(gap, provedOptimal, timedOut) (PlanStatus.h).
  PlanStatus status = PlanStatus::GapOpen;
  /// The solver proved its schedule optimal; the solver hit a time limit.
  bool provedOptimal = false, timedOut = false;
  /// Proven lower bound on the total decode time (seconds): the tightest
  /// of `bounds`, which lists every valid bound computed (name, seconds).
  double boundSeconds = 0;
  std::string boundMethod;
  std::vector<std::pair<std::string, double>> bounds;
  /// Simulated time of the schedule (seconds).
  double scheduleSeconds = 0;
  /// (schedule - bound) / schedule.
  double gap = 0;
  /// Human-readable notes from the solver (timeouts, method details).
  std::vector<std::string> notes;
  double solveSeconds = 0;
  /// The schedule's name (the solver's candidate or the adopted baseline).
  std::string schedulePolicy;
  /// The solver's own result (every bound, phase times, dual iterations;
  /// its schedule is moved to `schedule`).
  solver::SolveResult solver;
  /// Baselines that refused the input: (name, reason).
  std::vector<std::pair<std::string, std::string>> skippedBaselines;
  /// The schedule and its simulation.
  Schedule schedule;
  PolicyRun plan;
  /// Baselines, in listPolicyNames() order.
  std::vector<PolicyRun> baselines;
};

/// Simulates `policy` over a fresh trace and collects a PolicyRun.
llvm::Expected<PolicyRun> runPolicy(const Problem &problem,
                                    const TraceFactory &trace, Policy &policy,
                                    unsigned seriesPoints);

/// Fills the per-layer schedule statistics of `run` by replaying the
/// schedule's moves (no simulation).
void scheduleLayerStats(const Problem &problem, const Schedule &schedule,
                        PolicyRun &run);

/// Computes bound + schedule with the solver, simulates the schedule and the
/// baselines. Errors: trace not matching the problem, infeasible problem
/// (explained), solver failures.
llvm::Expected<PlanResult> planPlacement(const Problem &problem,
                                         const TraceFactory &trace,
                                         const PlanOptions &options);

} // namespace kvopt

#endif // KVOPT_PLANNING_PLANNER_H
