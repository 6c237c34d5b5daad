//===- Solve.cpp - the planner's call into the solver ---------------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "Solve.h"

#include "kvopt/Solver/Solver.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

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
  so.lagrangian.threads = std::max(
      1u, options.threads ? options.threads : std::thread::hardware_concurrency());
  if (options.progress) {
    // Quiet for the first second, then at most one line per second and
    // phase change.
    auto start = std::chrono::steady_clock::now();
    auto last = std::make_shared<std::pair<double, std::string>>(0.0, "");
    // When the current phase began, for the estimate of what is left.
    auto phaseStart = std::make_shared<std::pair<double, std::string>>(0.0, "");
    so.progress = [progress = options.progress, start, last,
                   phaseStart](const std::string &phase, double fraction) {
      double now = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
      if (phase != phaseStart->second)
        *phaseStart = {now, phase};
      if (now < 1.0 || (now - last->first < 1.0 && phase == last->second))
        return;
      *last = {now, phase};
      char pct[64];
      double spent = now - phaseStart->first;
      if (fraction >= 0.01 && fraction < 1.0)
        std::snprintf(pct, sizeof(pct), " %3.0f%% (%.0f s, about %.0f s left)",
                      100 * fraction, now, spent / fraction * (1 - fraction));
      else
        std::snprintf(pct, sizeof(pct), " %3.0f%% (%.0f s)", 100 * fraction,
                      now);
      progress(phase + pct);
    };
  }
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
