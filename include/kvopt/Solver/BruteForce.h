//===- BruteForce.h - The true optimum of tiny instances by enumeration -*- C++ -*-===//
//
// An independent check of the exact Z3 model (PlacementProgram.h): it shares
// no constraint code with it. It enumerates every decision the simulator
// (Simulator.cpp, Policy.h) accepts at every record - any set of resident,
// existing blocks to demote, the tier of a newly opened block, any set of
// existing DRAM blocks to promote (including one just demoted), subject to
// the capacity after the record - from every initial placement of the
// prompt blocks, and prices each (step, layer) group with
// TimeModel::stepTime. Two modes:
//  * exhaustive: every complete schedule is replayed through the real
//    Simulator, which is the only judge of its time (tiny instances only);
//  * dynamic programming over the HBM contents at group boundaries, with
//    every decision sequence inside a group enumerated (a group's time
//    depends only on the contents entering it and its own decisions). The
//    best schedule is then replayed through the Simulator, which must give
//    the same time, or the result is an error.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_BRUTEFORCE_H
#define KVOPT_SOLVER_BRUTEFORCE_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/Trace.h"

#include "llvm/Support/Error.h"

#include <cstdint>

namespace kvopt {
namespace solver {

struct BruteForceOptions {
  /// Replay every complete schedule through the simulator instead of the
  /// dynamic program (exponential in the records: tiny instances only).
  bool exhaustive = false;
  /// Refuse instances with more blocks (states are bit masks).
  uint32_t maxBlocks = 24;
  /// Refuse work beyond this many enumerated records (dynamic program) or
  /// complete schedules (exhaustive).
  uint64_t maxWork = 50000000;
};

struct BruteForceResult {
  /// The optimum, as the simulator computes it for `schedule`.
  double optimumSeconds = 0;
  /// A schedule attaining it, and its simulated metrics.
  Schedule schedule;
  SimMetrics metrics;
  /// Enumerated records (dynamic program) or schedules (exhaustive).
  uint64_t work = 0;
};

/// The minimum total time over every schedule the simulator accepts.
/// Errors: a trace that does not match, an instance above the limits, or
/// (dynamic program) a disagreement with the simulator's replay.
llvm::Expected<BruteForceResult>
bruteForceOptimum(const Problem &problem, const TraceSource &trace,
                  const BruteForceOptions &options = {});

/// A schedule drawn by a seeded random walk through the same decisions
/// (every decision at a record equally likely): test input for checking
/// that another model prices arbitrary schedules like the simulator.
llvm::Expected<Schedule> randomSchedule(const Problem &problem,
                                        const TraceSource &trace,
                                        uint64_t seed);

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_BRUTEFORCE_H
