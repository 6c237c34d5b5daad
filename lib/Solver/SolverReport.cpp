//===- SolverReport.cpp - Printing solver results and baselines -----------===//
#include "kvopt/Solver/SolverReport.h"
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Solver/ScheduleText.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <chrono>
#include <cstdio>
#include <memory>

using namespace kvopt;
using namespace kvopt::solver;

llvm::Expected<std::vector<SimMetrics>>
kvopt::solver::simulateBaselines(const Problem &problem,
                                 const TraceSource &trace,
                                 uint32_t saIterations) {
  std::vector<SimMetrics> out;
  for (const std::string &name : listPolicyNames()) {
    auto pol = createPolicyByName(name);
    if (!pol)
      return pol.takeError();
    auto src = trace.reopen();
    if (!src)
      return src.takeError();
    auto m = simulate(**src, problem, **pol);
    if (!m) {
      // A policy may refuse an input (Belady's interval limit): report it
      // as not run, with its reason, and go on with the others.
      SimMetrics skipped;
      skipped.policy = name + " [not run: " + errorToString(m.takeError()) + "]";
      out.push_back(std::move(skipped));
      continue;
    }
    out.push_back(std::move(*m));
  }
  if (saIterations) {
    AnnealParams ap;
    ap.iterations = saIterations;
    auto sa = annealLookahead(trace, problem, ap);
    if (!sa)
      return sa.takeError();
    SimMetrics m = sa->best;
    m.policy = "sa-guided (W=" + std::to_string(sa->bestWindow) + ", R=" +
               std::to_string(sa->bestFraction).substr(0, 4) + ")";
    out.push_back(std::move(m));
  }
  return out;
}

ProgressFn kvopt::solver::makeProgressPrinter(llvm::raw_ostream &os) {
  auto start = std::make_shared<std::chrono::steady_clock::time_point>(
      std::chrono::steady_clock::now());
  auto last = std::make_shared<std::pair<std::string, int>>("", -1);
  auto phaseStart = std::make_shared<std::pair<std::string, double>>("", 0.0);
  auto lastPrint = std::make_shared<double>(0.0);
  return [&os, start, last, phaseStart, lastPrint](const std::string &phase,
                                                   double done) {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             *start)
                   .count();
    if (phase != phaseStart->first)
      *phaseStart = {phase, t};
    if (t < 1.0)
      return;
    int tenth = int(done * 10);
    // A new tenth, a new phase, or ten seconds without a line.
    if (phase == last->first && tenth == last->second && t - *lastPrint < 10)
      return;
    *last = {phase, tenth};
    *lastPrint = t;
    os << llvm::format("[%7.1f s] %s: %3d%%", t, phase.c_str(),
                       int(done * 100));
    if (done >= 0.01 && done < 1.0)
      os << llvm::format(" (about %.0f s left)",
                         (t - phaseStart->second) / done * (1 - done));
    os << "\n";
    os.flush();
  };
}

static std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", s);
  return buf;
}

void kvopt::solver::printText(llvm::raw_ostream &os, const Problem &problem,
                              const TraceSource &trace, const SolveResult &r,
                              const std::vector<SimMetrics> &baselines,
                              double wallSeconds) {
  const Workload &w = problem.work;
  os << "problem: " << problem.mem.name << ", " << w.model.layers
     << " layers, batch " << w.batch << ", prompt " << w.promptLen
     << ", decode " << w.decodeSteps << ", " << w.tokensPerBlock
     << " token(s)/block, HBM capacity " << problem.capacityBlocks
     << " blocks\n";
  os << "trace: " << trace.describe() << "\n";
  os << "status: " << planStatusName(r.status) << "\n";
  os << "bound: " << secs(r.boundSeconds) << " s (" << r.boundMethod << ")\n";
  if (r.lagrangianBound >= 0)
    os << "  lagrangian bound: " << secs(r.lagrangianBound) << " s ("
       << r.dualIterations << " dual iterations)\n";
  if (r.capacityBound >= 0)
    os << "  capacity bound: " << secs(r.capacityBound) << " s\n";
  if (r.lpBound >= 0)
    os << "  z3 LP relaxation: " << secs(r.lpBound) << " s\n";
  if (r.exactOptimum >= 0)
    os << "  z3 exact optimum: " << secs(r.exactOptimum) << " s ("
       << r.exactOptimumUnits << " / " << r.unitsPerSecond << " s)\n";
  os << "schedule: " << secs(r.scheduleSeconds) << " s (" << r.schedulePolicy
     << "), " << llvm::formatv("{0:F1}", r.scheduleMetrics.tokensPerSecond)
     << " tokens/s, KV hit rate "
     << llvm::formatv("{0:F4}", r.scheduleMetrics.kvHitRate) << ", peak HBM "
     << r.scheduleMetrics.peakHbmBlocks << "/" << problem.capacityBlocks
     << " blocks\n";
  os << "gap: " << llvm::formatv("{0:F4}", r.gap * 100) << "%\n";
  os << "message: " << r.message << "\n";
  if (!baselines.empty()) {
    os << "baselines (distance from the bound = time / bound - 1):\n";
    for (const SimMetrics &m : baselines)
      if (m.steps == 0)
        os << "  " << m.policy << "\n";
      else
        os << llvm::formatv("  {0,-28} {1,14} s  {2,9:F2}%  hit {3:F4}\n",
                          m.policy, secs(m.totalSeconds),
                          (m.totalSeconds / r.boundSeconds - 1) * 100,
                          m.kvHitRate);
  }
  os << "time: " << llvm::formatv("{0:F2}", wallSeconds) << " s (index "
     << llvm::formatv("{0:F2}", r.indexSeconds) << ", bound "
     << llvm::formatv("{0:F2}", r.boundWallSeconds) << ", schedule "
     << llvm::formatv("{0:F2}", r.scheduleWallSeconds) << ")\n";
}

void kvopt::solver::printJson(llvm::raw_ostream &os, const Problem &problem,
                              const TraceSource &trace, const SolveResult &r,
                              const std::vector<SimMetrics> &baselines,
                              double wallSeconds) {
  llvm::json::Array base;
  for (const SimMetrics &m : baselines)
    if (m.steps == 0)
      base.push_back(llvm::json::Object{{"policy", m.policy}, {"not_run", true}});
    else
      base.push_back(llvm::json::Object{
        {"policy", m.policy},
        {"seconds", m.totalSeconds},
        {"kv_hit_rate", m.kvHitRate},
        {"distance_from_bound", m.totalSeconds / r.boundSeconds - 1}});
  llvm::json::Object o{
      {"hardware", problem.mem.name},
      {"layers", int64_t(problem.work.model.layers)},
      {"batch", int64_t(problem.work.batch)},
      {"prompt", int64_t(problem.work.promptLen)},
      {"decode", int64_t(problem.work.decodeSteps)},
      {"tokens_per_block", int64_t(problem.work.tokensPerBlock)},
      {"capacity_blocks", int64_t(problem.capacityBlocks)},
      {"trace", trace.describe()},
      {"status", planStatusName(r.status)},
      {"bound_seconds", r.boundSeconds},
      {"bound_method", r.boundMethod},
      {"schedule_seconds", r.scheduleSeconds},
      {"schedule_policy", r.schedulePolicy},
      {"tokens_per_second", r.scheduleMetrics.tokensPerSecond},
      {"kv_hit_rate", r.scheduleMetrics.kvHitRate},
      {"peak_hbm_blocks", int64_t(r.scheduleMetrics.peakHbmBlocks)},
      {"moves", int64_t(r.schedule.totalMoves())},
      {"gap", r.gap},
      {"message", r.message},
      {"dual_iterations", int64_t(r.dualIterations)},
      {"wall_seconds", wallSeconds},
      {"baselines", std::move(base)}};
  if (r.lagrangianBound >= 0)
    o["lagrangian_bound_seconds"] = r.lagrangianBound;
  if (r.capacityBound >= 0)
    o["capacity_bound_seconds"] = r.capacityBound;
  if (r.lpBound >= 0)
    o["lp_bound_seconds"] = r.lpBound;
  if (r.exactOptimum >= 0) {
    o["exact_optimum_seconds"] = r.exactOptimum;
    o["exact_optimum_units"] = r.exactOptimumUnits;
    o["units_per_second"] = r.unitsPerSecond;
  }
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(o))) << "\n";
}

void kvopt::solver::printSchedule(llvm::raw_ostream &os, const Schedule &s) {
  os << "schedule: initial HBM [";
  for (size_t k = 0; k < s.initialHbm.size(); ++k)
    os << (k ? " " : "") << s.initialHbm[k];
  os << "]\n";
  for (uint64_t r = 0; r < s.records(); ++r) {
    auto d = s.demotions(r), p = s.promotions(r);
    if (d.empty() && p.empty() && !s.newBlockInHbm(r))
      continue;
    os << "  record " << r << ":";
    writeMoveLists(os, d, p);
    if (s.newBlockInHbm(r))
      os << " new-block-in-HBM";
    os << "\n";
  }
}
