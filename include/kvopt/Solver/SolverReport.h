//===- SolverReport.h - Printing solver results and baselines ---*- C++ -*-===//
//
// The schedule's moves, progress lines for long solves, and the baselines
// (every core policy and the seed's SA-guided search) simulated for
// comparison. kv-solve's text and JSON reports print the Planning driver's
// result (tools/kv-solve/SolveReport.h).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_SOLVERREPORT_H
#define KVOPT_SOLVER_SOLVERREPORT_H

#include "kvopt/Solver/Solver.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace kvopt {
namespace solver {

/// Simulate every core baseline policy and the SA-guided lookahead
/// (Annealing.h; `saIterations` evaluations, 0 = skip) on `trace`.
llvm::Expected<std::vector<SimMetrics>>
simulateBaselines(const Problem &problem, const TraceSource &trace,
                  uint32_t saIterations = 40);

/// Progress printer: one line per phase change or 10% step, and one every
/// 5 s of the same, only after the solve has run for a second.
ProgressFn makeProgressPrinter(llvm::raw_ostream &os);

/// One line per record with moves: "rec R: demote [..] promote [..] new H".
void printSchedule(llvm::raw_ostream &os, const Schedule &s);

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_SOLVERREPORT_H
