//===- Z3Backend.h - Solve a placement program with Z3 ----------*- C++ -*-===//
//
// Exact optimisation of a PlacementProgram with z3::optimize: as an integer
// program (the true optimum) or as its linear relaxation (a lower bound),
// both in exact rational arithmetic, under a time limit. Z3 exceptions never
// leave this library; they become llvm::Errors.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_Z3BACKEND_H
#define KVOPT_SOLVER_Z3BACKEND_H

#include "kvopt/Solver/PlacementProgram.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kvopt {
namespace solver {

struct Z3Solution {
  enum class Status {
    Optimal,   ///< proven optimum (of the program or of its relaxation)
    Timeout,   ///< the limit was reached; see lowerUnits
    Infeasible ///< no assignment satisfies the constraints
  };
  Status status = Status::Timeout;
  /// Optimum in scaled units (exact rational as text, and as a double).
  std::string objectiveExact;
  double objectiveUnits = 0;
  /// On timeout: the best lower bound Z3 proved, in units (or -inf).
  double lowerUnits = -1.0 / 0.0;
  /// Integer solution (exact mode, Optimal only).
  std::vector<int64_t> values;
  double seconds = 0;
};

/// Minimise `prog`. `relax` solves the linear relaxation over the reals.
/// `resourceLimit` (0 = none) is Z3's deterministic work budget ("rlimit"):
/// unlike the time limit, a run it stops ends at the same point, with the
/// same lower bound, on every machine and under any load.
llvm::Expected<Z3Solution> solveWithZ3(const PlacementProgram &prog,
                                       bool relax, double timeLimitSeconds,
                                       uint64_t resourceLimit = 0);

/// Decide `objective <= thresholdUnits` (the SMT-LIB decision form) with
/// Z3's C++ API: true = sat.
llvm::Expected<bool> decideWithZ3(const PlacementProgram &prog,
                                  const std::string &thresholdUnits,
                                  double timeLimitSeconds);

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_Z3BACKEND_H
