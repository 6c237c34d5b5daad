//===- SolverReport.cpp - Printing solver results and baselines -----------===//
#include "kvopt/Solver/SolverReport.h"
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Solver/ScheduleText.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

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
