//===- SolveReport.cpp - kv-solve's text and JSON reports -----------------===//
//
// Part of kv-opt.
//
//===----------------------------------------------------------------------===//
#include "SolveReport.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cstdio>

using namespace kvopt;

static std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", s);
  return buf;
}

/// The notes of the result as one message line.
static std::string message(const PlanResult &r) {
  std::string out;
  for (const std::string &n : r.notes)
    out += (out.empty() ? "" : "; ") + n;
  return out;
}

void kvopt::printSolveText(llvm::raw_ostream &os, const Problem &problem,
                           const TraceSource &trace, const PlanResult &r,
                           const std::vector<SimMetrics> &baselines,
                           double wallSeconds) {
  const Workload &w = problem.work;
  const solver::SolveResult &s = r.solver;
  const SimMetrics &m = r.plan.metrics;
  os << "problem: " << problem.mem.name << ", " << w.model.layers
     << " layers, batch " << w.batch << ", prompt " << w.promptLen
     << ", decode " << w.decodeSteps << ", " << w.tokensPerBlock
     << " token(s)/block, HBM capacity " << problem.capacityBlocks
     << " blocks\n";
  os << "trace: " << trace.describe() << "\n";
  os << "status: " << planStatusName(r.status) << "\n";
  os << "bound: " << secs(r.boundSeconds) << " s (" << r.boundMethod << ")\n";
  if (s.lagrangianBound >= 0)
    os << "  lagrangian bound: " << secs(s.lagrangianBound) << " s ("
       << s.dualIterations << " dual iterations"
       << (s.sampleStride > 1 ? ", multipliers chosen on every " +
                                    std::to_string(s.sampleStride) +
                                    "th block"
                              : std::string())
       << ")\n";
  if (s.capacityBound >= 0)
    os << "  capacity bound: " << secs(s.capacityBound) << " s\n";
  if (s.lpBound >= 0)
    os << "  z3 LP relaxation: " << secs(s.lpBound) << " s\n";
  if (s.exactOptimum >= 0)
    os << "  z3 exact optimum: " << secs(s.exactOptimum) << " s ("
       << s.exactOptimumUnits << " / " << s.unitsPerSecond << " s)\n";
  os << "schedule: " << secs(r.scheduleSeconds) << " s (" << r.schedulePolicy
     << "), " << llvm::formatv("{0:F1}", m.tokensPerSecond)
     << " tokens/s, KV hit rate " << llvm::formatv("{0:F4}", m.kvHitRate)
     << ", peak HBM " << m.peakHbmBlocks << "/" << problem.capacityBlocks
     << " blocks\n";
  os << "gap: " << llvm::formatv("{0:F4}", r.gap * 100)
     << "% (gap = (schedule - bound) / schedule; schedule/bound = "
     << llvm::formatv("{0:F4}", r.boundSeconds > 0
                                    ? r.scheduleSeconds / r.boundSeconds
                                    : 0.0)
     << ")\n";
  os << "message: " << message(r) << "\n";
  if (!baselines.empty()) {
    os << "baselines (distance from the bound = time / bound - 1):\n";
    for (const SimMetrics &b : baselines)
      if (b.steps == 0)
        os << "  " << b.policy << "\n";
      else
        os << llvm::formatv("  {0,-28} {1,14} s  {2,9:F2}%  hit {3:F4}\n",
                            b.policy, secs(b.totalSeconds),
                            (b.totalSeconds / r.boundSeconds - 1) * 100,
                            b.kvHitRate);
  }
  os << "time: " << llvm::formatv("{0:F2}", wallSeconds) << " s (index "
     << llvm::formatv("{0:F2}", s.indexSeconds) << ", bound "
     << llvm::formatv("{0:F2}", s.boundWallSeconds) << ", schedule "
     << llvm::formatv("{0:F2}", s.scheduleWallSeconds) << ")\n";
}

void kvopt::printSolveJson(llvm::raw_ostream &os, const Problem &problem,
                           const TraceSource &trace, const PlanResult &r,
                           const std::vector<SimMetrics> &baselines,
                           double wallSeconds) {
  const solver::SolveResult &s = r.solver;
  const SimMetrics &m = r.plan.metrics;
  llvm::json::Array base;
  for (const SimMetrics &b : baselines)
    if (b.steps == 0)
      base.push_back(llvm::json::Object{{"policy", b.policy}, {"not_run", true}});
    else
      base.push_back(llvm::json::Object{
          {"policy", b.policy},
          {"seconds", b.totalSeconds},
          {"kv_hit_rate", b.kvHitRate},
          {"distance_from_bound", b.totalSeconds / r.boundSeconds - 1}});
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
      {"tokens_per_second", m.tokensPerSecond},
      {"kv_hit_rate", m.kvHitRate},
      {"peak_hbm_blocks", int64_t(m.peakHbmBlocks)},
      {"moves", int64_t(r.schedule.totalMoves())},
      {"gap", r.gap},
      {"schedule_over_bound",
       r.boundSeconds > 0 ? r.scheduleSeconds / r.boundSeconds : 0.0},
      {"message", message(r)},
      {"dual_iterations", int64_t(s.dualIterations)},
      {"sample_stride", int64_t(s.sampleStride)},
      {"wall_seconds", wallSeconds},
      {"baselines", std::move(base)}};
  if (s.lagrangianBound >= 0)
    o["lagrangian_bound_seconds"] = s.lagrangianBound;
  if (s.capacityBound >= 0)
    o["capacity_bound_seconds"] = s.capacityBound;
  if (s.lpBound >= 0)
    o["lp_bound_seconds"] = s.lpBound;
  if (s.exactOptimum >= 0) {
    o["exact_optimum_seconds"] = s.exactOptimum;
    o["exact_optimum_units"] = s.exactOptimumUnits;
    o["units_per_second"] = s.unitsPerSecond;
  }
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(o))) << "\n";
}
