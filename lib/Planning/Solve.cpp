//===- Solve.cpp - the planner's call into the solver ---------------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "Solve.h"

#include "kvopt/Solver/Solver.h"

#include <cstdio>

using namespace kvopt;

llvm::Expected<SolveOutcome>
kvopt::solveBoundAndSchedule(const Problem &problem, const TraceFactory &trace,
                             const PlanOptions &options) {
  llvm::Expected<std::unique_ptr<TraceSource>> src = trace();
  if (!src)
    return src.takeError();
  solver::SolveOptions so;
  std::string method = options.solver == "z3" ? "exact" : options.solver;
  llvm::Expected<solver::SolveMethod> parsed = solver::parseSolveMethod(method);
  if (!parsed)
    return parsed.takeError();
  so.method = *parsed;
  so.timeLimitSeconds = options.timeLimitSeconds;
  if (options.progress)
    so.progress = [progress = options.progress](const std::string &phase,
                                                double fraction) {
      char pct[16];
      std::snprintf(pct, sizeof(pct), " %3.0f%%", 100 * fraction);
      progress(phase + pct);
    };
  llvm::Expected<solver::SolveResult> r =
      solver::solvePlacement(problem, **src, so);
  if (!r)
    return r.takeError();
  SolveOutcome out;
  out.method = r->boundMethod;
  if (!r->schedulePolicy.empty() && r->schedulePolicy != r->boundMethod)
    out.method += " + " + r->schedulePolicy;
  out.boundSeconds = r->boundSeconds;
  out.provedOptimal = r->status == solver::SolveStatus::Optimal;
  out.timedOut = r->status == solver::SolveStatus::Timeout;
  out.expectedScheduleSeconds = r->scheduleSeconds;
  out.schedule = std::move(r->schedule);
  if (!r->message.empty())
    out.notes.push_back(r->message);
  return out;
}
