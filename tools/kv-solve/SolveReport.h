//===- SolveReport.h - kv-solve's text and JSON reports ---------*- C++ -*-===//
//
// Part of kv-opt. Deterministic text and JSON reports of the Planning
// driver's result (planPlacement): status, every bound with the tightest
// named, the schedule, the gap, and an optional baseline table.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TOOLS_KVSOLVE_SOLVEREPORT_H
#define KVOPT_TOOLS_KVSOLVE_SOLVEREPORT_H

#include "kvopt/Planning/Planner.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace kvopt {

void printSolveText(llvm::raw_ostream &os, const Problem &problem,
                    const TraceSource &trace, const PlanResult &r,
                    const std::vector<SimMetrics> &baselines,
                    double wallSeconds);
void printSolveJson(llvm::raw_ostream &os, const Problem &problem,
                    const TraceSource &trace, const PlanResult &r,
                    const std::vector<SimMetrics> &baselines,
                    double wallSeconds);

} // namespace kvopt

#endif // KVOPT_TOOLS_KVSOLVE_SOLVEREPORT_H
