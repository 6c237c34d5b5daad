//===- Solve.cpp - the planner's call into the solver ---------------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//

#include "Solve.h"

#include "kvopt/Solver/Solver.h"

#include "llvm/ADT/StringRef.h"

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
  so.lagrangian.windows = options.windows;
  so.lagrangian.maxIterations = options.iterations;
  so.lagrangian.sampleStride = options.sampleStride;
  so.planSchedule = options.planSchedule;
  so.candidatePolicies = options.candidates;
  so.lagrangian.threads = std::max(
      1u, options.threads ? options.threads : std::thread::hardware_concurrency());
  if (options.progress) {
    // Quiet for the first second, then a line at every phase change and
    // every 5 s within a phase (the solver repeats its phase every second
    // while busy, so a run is never silent for long).
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
      if (now < 1.0 || (now - last->first < 5.0 && phase == last->second))
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
  // The method: the exact model where it ran, else the Lagrangian search
  // (whichever bound turned out tightest is named in `bounds`).
  out.method = llvm::StringRef(r->boundMethod).starts_with("z3")
                   ? r->boundMethod
                   : std::string("lagrangian");
  if (!r->schedulePolicy.empty() && r->schedulePolicy != out.method)
    out.method += " + " + r->schedulePolicy;
  out.boundSeconds = r->boundSeconds;
  out.boundMethod = r->boundMethod;
  out.provedOptimal = r->provedOptimal;
  out.timedOut = r->stoppedByTimeLimit;
  out.expectedScheduleSeconds = r->scheduleSeconds;
  out.schedule = std::move(r->schedule);
  for (auto [name, value] : {std::pair<const char *, double>{"lagrangian",
                                                             r->lagrangianBound},
                             {"capacity", r->capacityBound},
                             {"z3-lp-relaxation", r->lpBound},
                             {"z3-exact", r->exactOptimum}})
    if (value >= 0)
      out.bounds.emplace_back(name, value);
  if (!r->message.empty())
    out.notes.push_back(r->message);
  out.details = std::move(*r);
  return out;
}
