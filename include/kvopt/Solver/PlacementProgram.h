//===- PlacementProgram.h - The placement problem as an integer program -*- C++ -*-===//
//
// The exact model of docs/bound.md section 2 for small instances, as a
// linear program over integers with exact integer coefficients. Time is
// counted in units of 1/M seconds, M = lcm of the six bandwidths (bytes/s),
// so every per-resource time is an integer and the optimum of the scaled
// program is M times the optimum in seconds, exactly. Variables:
//   x[j][r]   block j in HBM at the read of record r (r = 0..R; x[j][R] final)
//   pro/dem   block j promoted / demoted at record r (where it exists)
//   n[j]      tier of block j when its first token is appended
//   tau[g]    scaled time of group g = (step, layer), >= every resource
// The Z3 backend (Z3Backend.h) solves it exactly or relaxed; the SMT-LIB
// exporter (Target/SMTLIB) writes the same system.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_PLACEMENTPROGRAM_H
#define KVOPT_SOLVER_PLACEMENTPROGRAM_H

#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Trace.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvopt {
namespace solver {

struct LinearTerm {
  uint32_t var;
  int64_t coef;
};

enum class Relation { LE, EQ, GE };

/// sum(terms) REL rhs.
struct LinearConstraint {
  std::vector<LinearTerm> terms;
  Relation rel = Relation::LE;
  int64_t rhs = 0;
};

enum class VarKind {
  Binary,     ///< 0 or 1 (relaxed: [0, 1])
  NonNegative ///< integer >= 0 (relaxed: real >= 0)
};

struct PlacementProgram {
  std::vector<std::string> names;
  std::vector<VarKind> kinds;
  std::vector<LinearConstraint> constraints;
  /// Minimise sum(objective) (the scaled times of all groups).
  std::vector<LinearTerm> objective;
  /// M: scaled units per second.
  int64_t unitsPerSecond = 1;
  /// Seconds added to every schedule (fixed per-step term x groups).
  double fixedSeconds = 0;
  /// Shape, for decoding a solution into a schedule.
  uint32_t records = 0, blocks = 0;
  /// Variable of x[j][r] (r <= records), pro/dem[j][r], n[j]; -1 = none
  /// (the block does not exist then).
  std::vector<int64_t> xVar, proVar, demVar, newVar;
  /// Per record: the block of the token appended (only if it opens it).
  std::vector<int64_t> openedBlock;

  uint32_t addVar(std::string name, VarKind kind) {
    names.push_back(std::move(name));
    kinds.push_back(kind);
    return uint32_t(names.size() - 1);
  }
  size_t variables() const { return names.size(); }
  /// Seconds of a scaled objective value.
  double toSeconds(double units) const {
    return units / double(unitsPerSecond) + fixedSeconds;
  }
  /// Decode an integer solution (one value per variable) into a schedule
  /// the core simulator replays.
  Schedule toSchedule(const std::vector<int64_t> &values) const;
};

struct ProgramLimits {
  /// Refuse larger programs (the exact model is for small instances).
  uint64_t maxVariables = 200000;
};

/// Build the program for `problem` on a (small) trace. Errors: a trace that
/// does not match, non-integer bandwidths or weight bytes, coefficients
/// that overflow 64 bits, or more variables than the limit.
llvm::Expected<PlacementProgram>
buildPlacementProgram(const Problem &problem, const TraceSource &trace,
                      const ProgramLimits &limits = {});

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_PLACEMENTPROGRAM_H
