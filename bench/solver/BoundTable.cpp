//===- BoundTable.cpp - How far every policy is from the bound ------------===//
//
// The honest version of the seed's "up to 5.87x": for each sparsity (40, 50,
// 60, 80, 85, 90%) and each variation level (low, real, high at 60%) on
// seed-like traces, the bound, kv-opt's schedule and every baseline, with
// their distance from the bound (time / bound - 1). Reduced scale by
// default (same HBM share of the KV cache as the seed's study); --full runs
// the seed's 31,299 + 10,239 tokens. docs/bound.md records the output.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Solver/Solver.h"
#include "kvopt/Solver/SolverReport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace kvopt;
using namespace llvm;

static cl::opt<bool> full("full", cl::desc("the seed's full scale"),
                          cl::init(false));
static cl::opt<unsigned> prompt("prompt", cl::init(4096),
                                cl::desc("prompt tokens (reduced scale)"));
static cl::opt<unsigned> decode("decode", cl::init(512),
                                cl::desc("decode steps (reduced scale)"));
static cl::opt<unsigned> saIterations("sa-iterations", cl::init(40),
                                      cl::desc("SA evaluations (0 = skip)"));
static cl::opt<double> timeLimit("time-limit", cl::init(60),
                                 cl::desc("seconds for each bound"));
static cl::opt<unsigned> iterations("iterations", cl::init(40),
                                    cl::desc("dual ascent iterations"));
static cl::opt<unsigned> sampleStride("sample-stride", cl::init(0),
                                      cl::desc("dual ascent on every n-th block"));
static cl::opt<std::string> only("only", cl::init(""),
                                 cl::desc("run one row, e.g. 60/real"));
static cl::opt<bool> noPlan("no-plan-schedule", cl::init(false),
                            cl::desc("skip the relaxed-plan schedule"));
static cl::opt<bool> noBaselines("no-baselines", cl::init(false),
                                 cl::desc("bound and schedule only"));

static int fail(Error e) {
  errs() << "kvopt-bench-solver: error: " << errorToString(std::move(e)) << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "bound vs schedules table\n");
  auto mem = getHardwarePreset("paper");
  if (!mem)
    return fail(mem.takeError());
  // The seed's KV share of HBM: capacity blocks at full scale / all blocks.
  Workload fullW = makePaperWorkload();
  auto fullP = Problem::create(*mem, fullW);
  if (!fullP)
    return fail(fullP.takeError());
  double share = double(fullP->capacityBlocks) /
                 double(uint64_t(fullW.model.layers) * fullW.blocksPerSeqLayer());
  Workload w = full ? fullW : makePaperWorkload(prompt, decode);
  auto base = Problem::create(*mem, w);
  if (!base)
    return fail(base.takeError());
  Problem problem = full ? *base
                         : base->withCapacityBlocks(uint64_t(
                               share * double(uint64_t(w.model.layers) *
                                              w.blocksPerSeqLayer())));
  outs() << "# seed-like traces, hardware 'paper' (seed Table I), standard "
            "exclusive model, prompt "
         << w.promptLen << ", decode " << w.decodeSteps << ", "
         << w.model.layers << " layers, HBM capacity " << problem.capacityBlocks
         << " blocks (" << formatv("{0:F4}", share) << " of the KV cache)\n";
  struct Row {
    double sparsity;
    std::string variation;
  };
  std::vector<Row> rows = {{0.4, "real"}, {0.5, "real"},  {0.6, "real"},
                           {0.8, "real"}, {0.85, "real"}, {0.9, "real"},
                           {0.6, "low"},  {0.6, "high"}};
  bool header = false;
  for (const Row &row : rows) {
    std::string id = std::to_string(int(row.sparsity * 100 + 0.5)) + "/" +
                     row.variation;
    if (!only.empty() && only != id)
      continue;
    GeneratorParams g;
    g.layers = w.model.layers;
    g.promptLen = w.promptLen;
    g.decodeSteps = w.decodeSteps;
    g.sparsity = row.sparsity;
    auto swap = variationSwapFraction(row.variation);
    if (!swap)
      return fail(swap.takeError());
    g.swapFraction = *swap;
    auto trace = makeGenerator(g);
    if (!trace)
      return fail(trace.takeError());
    solver::SolveOptions o;
    o.method = solver::SolveMethod::Lagrangian;
    o.timeLimitSeconds = timeLimit;
    o.lagrangian.timeLimitSeconds = timeLimit;
    o.lagrangian.maxIterations = iterations;
    o.lagrangian.sampleStride = sampleStride;
    o.planSchedule = !noPlan;
    auto t0 = std::chrono::steady_clock::now();
    auto r = solver::solvePlacement(problem, **trace, o);
    if (!r)
      return fail(r.takeError());
    double solveSecs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    std::vector<SimMetrics> bl;
    if (!noBaselines) {
      auto b = solver::simulateBaselines(problem, **trace, saIterations);
      if (!b)
        return fail(b.takeError());
      bl = std::move(*b);
    }
    if (!header) {
      outs() << "| sparsity/variation | bound (s) | kv-opt schedule (s) | gap |";
      for (const SimMetrics &m : bl)
        outs() << " " << m.policy.substr(0, m.policy.find(' ')) << " |";
      outs() << " solve (s) | schedule |\n|---|---|---|---|";
      for (size_t k = 0; k < bl.size(); ++k)
        outs() << "---|";
      outs() << "---|---|\n";
      header = true;
    }
    outs() << "| " << id << " | " << formatv("{0:F4}", r->boundSeconds) << " | "
           << formatv("{0:F4}", r->scheduleSeconds) << " | "
           << formatv("{0:F2}%", (r->scheduleSeconds - r->boundSeconds) /
                                     r->scheduleSeconds * 100)
           << " |";
    for (const SimMetrics &m : bl)
      outs() << " " << formatv("{0:+F1}%", (m.totalSeconds / r->boundSeconds - 1) * 100)
             << " |";
    outs() << " " << formatv("{0:F1}", solveSecs) << " | "
           << r->schedulePolicy << " |\n";
    outs().flush();
  }
  outs() << "# distance = time / bound - 1; every baseline's time is a "
            "feasible schedule's, so >= 0; the gap is kv-opt's own\n";
  return 0;
}
