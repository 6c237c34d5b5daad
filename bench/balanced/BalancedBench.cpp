//===- BalancedBench.cpp - The balanced oracle and the bound's evaluation -===//
//
// Google Benchmark microbenchmarks of the solver's two hot pieces at the
// seed's shape (32 layers, 31,299-token prompt, paper hardware, 16 GB of
// resident weights, token blocks, seed-like trace, seed 1) with the decode
// length as the argument:
//
//  * BM_BalancedOracle/{library,reference}: one simulation of the balanced
//    oracle, the library's policy and the algorithm as first written
//    (unittests/Solver/ReferenceBalancedPolicy.h), in the same run; both
//    make the same decisions (BalancedPolicyTest), so the ratio is the
//    speed-up. Sparsity 0.4 (the HBM is full of read blocks) and 0.6.
//  * BM_LagrangianFullEvaluation{,Reference}: one bound evaluation over
//    every block at the initial multipliers (the last phase of the bound),
//    the library's and the evaluation as first written
//    (unittests/Solver/ReferenceLagrangian.h; same value bit for bit,
//    LagrangianKernelTest), in the same run; BM_LagrangianGradient{Library,
//    Reference}: one sampled evaluation with subgradient data (stride 29),
//    as in the dual ascent.
//  * BM_WindowPlan{Library,Reference}: one plan of the window placement
//    (the solver's candidate options) with 16-token blocks, sparsity 0.6,
//    HBM for 58 % of the blocks (the README default's proportions), the
//    library's planner and the planner as first written
//    (unittests/Solver/ReferenceWindowPlacement.h; same plan,
//    WindowPlacementTest), in the same run.
//
// items = token accesses of the trace. The trace index is built once per
// shape, outside the timing.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/LagrangianBound.h"
#include "kvopt/Solver/ResourceCosts.h"
#include "kvopt/Solver/WindowPlacement.h"

#include "ReferenceBalancedPolicy.h"
#include "ReferenceLagrangian.h"
#include "ReferenceWindowPlacement.h"

#include "benchmark/benchmark.h"

#include <map>
#include <memory>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

struct Shape {
  Problem problem;
  std::unique_ptr<TraceSource> trace;
  BlockAccesses acc;
  ResourceCosts costs;
};

/// The seed's shape at `decode` steps (kv-solve --paper-scale with
/// --decode), built once per (sparsity, decode).
const Shape &shape(double sparsity, uint32_t decode) {
  static std::map<std::pair<double, uint32_t>, std::unique_ptr<Shape>> cache;
  auto &slot = cache[{sparsity, decode}];
  if (slot)
    return *slot;
  Workload w = makePaperWorkload(31299, decode);
  MemorySystem mem = llvm::cantFail(getHardwarePreset("paper"));
  Problem p = llvm::cantFail(Problem::create(mem, w));
  GeneratorParams g;
  g.layers = w.model.layers;
  g.batch = w.batch;
  g.promptLen = w.promptLen;
  g.decodeSteps = decode;
  g.sparsity = sparsity;
  g.seed = 1;
  auto trace = llvm::cantFail(makeGenerator(g));
  BlockAccesses acc = llvm::cantFail(BlockAccesses::build(*trace, p.work));
  ResourceCosts costs = llvm::cantFail(ResourceCosts::fromModel(p.model));
  slot.reset(new Shape{std::move(p), std::move(trace), std::move(acc), costs});
  return *slot;
}

void runOracle(benchmark::State &state, bool reference, double sparsity) {
  const Shape &s = shape(sparsity, uint32_t(state.range(0)));
  double seconds = 0;
  for (auto _ : state) {
    std::unique_ptr<Policy> pol =
        reference ? std::unique_ptr<Policy>(new reference::ReferenceBalancedPolicy(
                        s.acc, s.costs, BalancedOptions()))
                  : createBalancedPolicy(s.acc, s.costs);
    auto src = llvm::cantFail(s.trace->reopen());
    SimMetrics m = llvm::cantFail(simulate(*src, s.problem, *pol));
    seconds = m.totalSeconds;
  }
  state.counters["schedule_s"] = seconds;
  state.SetItemsProcessed(int64_t(s.acc.accesses()) * state.iterations());
}

void BM_BalancedOracleLibrary40(benchmark::State &st) { runOracle(st, false, 0.4); }
void BM_BalancedOracleReference40(benchmark::State &st) { runOracle(st, true, 0.4); }
void BM_BalancedOracleLibrary60(benchmark::State &st) { runOracle(st, false, 0.6); }
void BM_BalancedOracleReference60(benchmark::State &st) { runOracle(st, true, 0.6); }
BENCHMARK(BM_BalancedOracleLibrary40)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BalancedOracleReference40)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BalancedOracleLibrary60)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BalancedOracleReference60)->Arg(256)->Unit(benchmark::kMillisecond);

void BM_LagrangianFullEvaluation(benchmark::State &state) {
  const Shape &s = shape(0.4, uint32_t(state.range(0)));
  LagrangianBound lb(s.acc, s.costs, s.problem.capacityBlocks);
  DualPrices prices = lb.initialPrices(LagrangianOptions().windows);
  double bound = 0;
  for (auto _ : state)
    bound = lb.evaluate(prices, false, nullptr, 1, 1).bound;
  state.counters["bound_s"] = bound;
  state.SetItemsProcessed(int64_t(s.acc.accesses()) * state.iterations());
}
BENCHMARK(BM_LagrangianFullEvaluation)->Arg(256)->Unit(benchmark::kMillisecond);

/// The same evaluation as first written (ReferenceLagrangian.h), same run.
void BM_LagrangianFullEvaluationReference(benchmark::State &state) {
  const Shape &s = shape(0.4, uint32_t(state.range(0)));
  LagrangianBound lb(s.acc, s.costs, s.problem.capacityBlocks);
  DualPrices prices = lb.initialPrices(LagrangianOptions().windows);
  double bound = 0;
  for (auto _ : state)
    bound = reference::evaluate(s.acc, s.costs, s.problem.capacityBlocks,
                                prices, false)
                .bound;
  state.counters["bound_s"] = bound;
  state.SetItemsProcessed(int64_t(s.acc.accesses()) * state.iterations());
}
BENCHMARK(BM_LagrangianFullEvaluationReference)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);

/// One sampled evaluation with subgradient data, as in the dual ascent
/// (every 29th block, the stride of the 40 % full-scale run), library and
/// first-written evaluation.
void runGradient(benchmark::State &state, bool reference) {
  const Shape &s = shape(0.4, uint32_t(state.range(0)));
  LagrangianBound lb(s.acc, s.costs, s.problem.capacityBlocks);
  DualPrices prices = lb.initialPrices(LagrangianOptions().windows);
  double bound = 0;
  for (auto _ : state)
    bound = reference ? reference::evaluate(s.acc, s.costs,
                                            s.problem.capacityBlocks, prices,
                                            true, nullptr, 29)
                            .raw
                      : lb.evaluate(prices, true, nullptr, 29).raw;
  state.counters["value_s"] = bound;
}
void BM_LagrangianGradientLibrary(benchmark::State &st) { runGradient(st, false); }
void BM_LagrangianGradientReference(benchmark::State &st) { runGradient(st, true); }
BENCHMARK(BM_LagrangianGradientLibrary)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LagrangianGradientReference)->Arg(256)->Unit(benchmark::kMillisecond);

/// The window planner's shape: the seed's, with 16-token blocks.
struct WindowShape {
  BlockAccesses acc;
  ResourceCosts costs;
  uint64_t capacity;
};

const WindowShape &windowShape(uint32_t decode) {
  static std::map<uint32_t, std::unique_ptr<WindowShape>> cache;
  auto &slot = cache[decode];
  if (slot)
    return *slot;
  Workload w = makePaperWorkload(31299, decode);
  w.tokensPerBlock = 16;
  MemorySystem mem = llvm::cantFail(getHardwarePreset("paper"));
  Problem p = llvm::cantFail(Problem::create(mem, w));
  GeneratorParams g;
  g.layers = w.model.layers;
  g.batch = w.batch;
  g.promptLen = w.promptLen;
  g.decodeSteps = decode;
  g.sparsity = 0.6;
  g.seed = 1;
  auto trace = llvm::cantFail(makeGenerator(g));
  BlockAccesses acc = llvm::cantFail(BlockAccesses::build(*trace, p.work));
  ResourceCosts costs = llvm::cantFail(ResourceCosts::fromModel(p.model));
  uint64_t cap = uint64_t(0.58 * double(acc.totalBlocks()));
  slot.reset(new WindowShape{std::move(acc), costs, cap});
  return *slot;
}

void runWindowPlan(benchmark::State &state, bool reference) {
  const WindowShape &s = windowShape(uint32_t(state.range(0)));
  WindowOptions o = windowCandidates().front();
  size_t moves = 0;
  for (auto _ : state) {
    WindowPlan plan =
        reference ? reference::referencePlanWindows(s.acc, s.costs, s.capacity, o)
                  : planWindows(s.acc, s.costs, s.capacity, o);
    moves = plan.moves.size();
  }
  state.counters["moves"] = double(moves);
  state.SetItemsProcessed(int64_t(s.acc.totalEvents()) * state.iterations());
}

void BM_WindowPlanLibrary(benchmark::State &st) { runWindowPlan(st, false); }
void BM_WindowPlanReference(benchmark::State &st) { runWindowPlan(st, true); }
BENCHMARK(BM_WindowPlanLibrary)->Arg(64)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WindowPlanReference)->Arg(64)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
