//===- WindowPlacementTest.cpp - The per-window placement schedule --------===//
//
// The window-placement schedule (WindowPlacement.h): it replays in the core
// simulator to the time the solver reports, stays within the HBM capacity at
// every record, is never below the brute-force optimum on tiny instances,
// and on a seed-like instance of the README default's shape it beats the
// balanced oracle (the schedule it was built to improve on).
//
//===----------------------------------------------------------------------===//
#include "ReferenceWindowPlacement.h"
#include "SolverTestUtil.h"

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/BruteForce.h"
#include "kvopt/Solver/ResourceCosts.h"
#include "kvopt/Solver/Solver.h"
#include "kvopt/Solver/WindowPlacement.h"

#include "gtest/gtest.h"

using namespace kvopt;
using namespace kvopt::solver;
using namespace kvopt::testing;

namespace {

constexpr double kTol = 1e-9;

/// Option sets the tests run: the solver's candidates and the extremes
/// (re-planning every step with a one-step horizon; no balancing; the whole
/// run as horizon).
std::vector<WindowOptions> optionSets() {
  std::vector<WindowOptions> v = windowCandidates();
  WindowOptions o;
  o.horizon = 1;
  o.period = 1;
  v.push_back(o);
  o.horizon = 0;
  o.balance = false;
  v.push_back(o);
  return v;
}

/// Simulate `pol` recording its decisions; checks the occupancy after every
/// (step, layer) group (the simulator itself rejects any record above the
/// capacity with an error, so a successful run is feasible at every record).
llvm::Expected<SimMetrics> runRecorded(const Instance &in, Policy &pol,
                                       Schedule &out, uint64_t &peakSeen) {
  auto src = in.trace->reopen();
  if (!src)
    return src.takeError();
  auto rec = createRecordingPolicy(pol, out);
  SimOptions so;
  peakSeen = 0;
  so.onStep = [&](const StepResult &r) {
    peakSeen = std::max<uint64_t>(peakSeen, r.hbmBlocks);
  };
  return simulate(**src, in.problem, *rec, so);
}

llvm::Expected<SimMetrics> replay(const Instance &in, const Schedule &s) {
  auto src = in.trace->reopen();
  if (!src)
    return src.takeError();
  auto pol = createSchedulePolicy(s, "replay");
  return simulate(**src, in.problem, *pol);
}

bool sameSchedule(const Schedule &a, const Schedule &b) {
  if (a.initialHbm != b.initialHbm || a.records() != b.records())
    return false;
  for (uint64_t r = 0; r < a.records(); ++r)
    if (a.demotions(r) != b.demotions(r) || a.promotions(r) != b.promotions(r) ||
        a.newBlockInHbm(r) != b.newBlockInHbm(r))
      return false;
  return true;
}

TEST(WindowPlacement, ReplaysToItsTimeWithinCapacity) {
  unsigned runs = 0;
  for (uint64_t seed = 1; seed <= 120; ++seed) {
    Rng rng(seed * 7919);
    InstanceShape s{1 + uint32_t(rng.below(2)), 1 + uint32_t(rng.below(2)),
                    2 + uint32_t(rng.below(8)), 2 + uint32_t(rng.below(7)),
                    1 + uint32_t(rng.below(3))};
    auto in = randomInstance(rng, s);
    ASSERT_TRUE(in) << "seed " << seed;
    auto acc = BlockAccesses::build(*in->trace, in->problem.work);
    ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
    auto costs = ResourceCosts::fromModel(in->problem.model);
    ASSERT_TRUE(bool(costs));
    const uint64_t cap = in->problem.capacityBlocks;
    for (const WindowOptions &o : optionSets()) {
      auto pol = createWindowPlacementPolicy(*acc, *costs, cap, o);
      Schedule sched;
      uint64_t peak = 0;
      auto m = runRecorded(*in, *pol, sched, peak);
      ASSERT_TRUE(bool(m)) << "seed " << seed << ": "
                           << errorToString(m.takeError());
      EXPECT_LE(m->peakHbmBlocks, cap) << "seed " << seed;
      EXPECT_LE(peak, cap) << "seed " << seed;
      auto r = replay(*in, sched);
      ASSERT_TRUE(bool(r)) << errorToString(r.takeError());
      EXPECT_EQ(r->totalSeconds, m->totalSeconds) << "seed " << seed;
      ++runs;
    }
    // The solver's reported schedule (the best of its portfolio, window
    // placement included) replays to the time it reports.
    SolveOptions so;
    so.method = SolveMethod::Lagrangian;
    so.lagrangian.maxIterations = 5;
    auto res = solvePlacement(in->problem, *in->trace, so);
    ASSERT_TRUE(bool(res)) << errorToString(res.takeError());
    auto r = replay(*in, res->schedule);
    ASSERT_TRUE(bool(r)) << errorToString(r.takeError());
    EXPECT_EQ(r->totalSeconds, res->scheduleSeconds)
        << "seed " << seed << ", " << res->schedulePolicy;
    EXPECT_LE(r->peakHbmBlocks, cap);
  }
  EXPECT_GE(runs, 360u);
}

TEST(WindowPlacement, NeverBelowBruteForceOptimum) {
  unsigned checked = 0;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    Rng rng(seed * 104723);
    // One of: two layers, two sequences, or one chain; blocks of 1-2
    // tokens; a 1-token prompt; 2-3 decode steps (the enumeration's cost
    // grows fast with the blocks and records).
    unsigned kind = unsigned(rng.below(3));
    InstanceShape s{kind == 0 ? 2u : 1u, kind == 1 ? 2u : 1u, 1,
                    2 + uint32_t(rng.below(2)),
                    1 + uint32_t(rng.below(2))};
    auto in = randomInstance(rng, s);
    ASSERT_TRUE(in) << "seed " << seed;
    auto bf = bruteForceOptimum(in->problem, *in->trace);
    ASSERT_TRUE(bool(bf)) << "seed " << seed << ": "
                          << errorToString(bf.takeError());
    auto acc = BlockAccesses::build(*in->trace, in->problem.work);
    ASSERT_TRUE(bool(acc));
    auto costs = ResourceCosts::fromModel(in->problem.model);
    ASSERT_TRUE(bool(costs));
    for (const WindowOptions &o : optionSets()) {
      auto pol = createWindowPlacementPolicy(*acc, *costs,
                                             in->problem.capacityBlocks, o);
      Schedule sched;
      uint64_t peak = 0;
      auto m = runRecorded(*in, *pol, sched, peak);
      ASSERT_TRUE(bool(m)) << errorToString(m.takeError());
      EXPECT_GE(m->totalSeconds, bf->optimumSeconds * (1 - kTol))
          << "seed " << seed << ", " << pol->name();
      ++checked;
    }
  }
  EXPECT_GE(checked, 450u);
}

/// The README default's shape, shrunk: gh200, 4 KiB entries, weights 0.27 x
/// a layer step's KV reads, 16-token blocks, HBM for 58 % of the blocks,
/// 40 % of the history read, the seed-like "real" variation, 64 steps.
struct SeedLikeCase {
  Problem problem;
  std::unique_ptr<TraceSource> trace;
};

SeedLikeCase readmeShape(uint32_t layers, uint32_t batch, uint32_t prompt,
                         uint32_t decode = 64) {
  auto mem = getHardwarePreset("gh200");
  EXPECT_TRUE(bool(mem));
  Workload w = makePaperWorkload(prompt, decode);
  w.model.layers = layers;
  w.model.slidingWindow.assign(layers, 0);
  w.batch = batch;
  w.tokensPerBlock = 16;
  w.entryBytesOverride = 4096;
  w.weightBytesPerLayerStepOverride = 0.2733 * 0.4 * prompt * 4096.0 * batch;
  w.residentWeightBytesOverride = 0;
  auto p = Problem::create(*mem, w);
  EXPECT_TRUE(bool(p));
  uint64_t all = uint64_t(layers) * batch * w.blocksPerSeqLayer();
  GeneratorParams g;
  g.layers = layers;
  g.batch = batch;
  g.promptLen = prompt;
  g.decodeSteps = decode;
  g.sparsity = 0.6;
  g.swapFraction = 0.1;
  g.seed = 1;
  auto t = makeGenerator(g);
  EXPECT_TRUE(bool(t));
  return {p->withCapacityBlocks(uint64_t(0.5816 * double(all))),
          std::move(*t)};
}

TEST(WindowPlacement, BeatsBalancedOracleOnSeedLikeTrace) {
  SeedLikeCase c = readmeShape(4, 2, 4096);
  auto acc = BlockAccesses::build(*c.trace, c.problem.work);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
  auto costs = ResourceCosts::fromModel(c.problem.model);
  ASSERT_TRUE(bool(costs));
  auto run = [&](Policy &pol) {
    auto src = c.trace->reopen();
    EXPECT_TRUE(bool(src));
    auto m = simulate(**src, c.problem, pol);
    EXPECT_TRUE(bool(m)) << errorToString(m.takeError());
    return m ? m->totalSeconds : 0.0;
  };
  auto balanced = createBalancedPolicy(*acc, *costs);
  double tBalanced = run(*balanced);
  double best = 0;
  for (const WindowOptions &o : windowCandidates()) {
    auto pol = createWindowPlacementPolicy(*acc, *costs,
                                           c.problem.capacityBlocks, o);
    double t = run(*pol);
    best = best == 0 ? t : std::min(best, t);
  }
  // Measured: balanced oracle 1.232 x the capacity bound, window placement
  // 1.063 x; the test asks for at least a 10 % shorter schedule.
  EXPECT_LT(best, 0.9 * tBalanced) << "window " << best << " s, balanced "
                                   << tBalanced << " s";
  // The solver's portfolio reports it (or something faster), and the plan
  // is the same on a second run.
  SolveOptions so;
  so.method = SolveMethod::Lagrangian;
  so.lagrangian.maxIterations = 2;
  auto r1 = solvePlacement(c.problem, *c.trace, so);
  ASSERT_TRUE(bool(r1)) << errorToString(r1.takeError());
  EXPECT_LE(r1->scheduleSeconds, best);
  auto r2 = solvePlacement(c.problem, *c.trace, so);
  ASSERT_TRUE(bool(r2)) << errorToString(r2.takeError());
  EXPECT_EQ(r1->scheduleSeconds, r2->scheduleSeconds);
  EXPECT_EQ(r1->schedulePolicy, r2->schedulePolicy);
  EXPECT_TRUE(sameSchedule(r1->schedule, r2->schedule));
}

TEST(WindowPlacement, SolverSimulatesItOnlyUpToTheSizeRule) {
  // At kWindowMaxDecodeSteps the candidate is simulated; one step more and
  // it is not, and the result's message says so.
  for (uint32_t decode : {kWindowMaxDecodeSteps, kWindowMaxDecodeSteps + 1}) {
    SeedLikeCase c = readmeShape(1, 1, 64, decode);
    SolveOptions so;
    so.method = SolveMethod::Lagrangian;
    so.lagrangian.maxIterations = 1;
    so.planSchedule = false;
    bool simulated = false;
    so.progress = [&](const std::string &what, double) {
      simulated |= what.find("simulating window-placement") != std::string::npos;
    };
    auto r = solvePlacement(c.problem, *c.trace, so);
    ASSERT_TRUE(bool(r)) << errorToString(r.takeError());
    bool skipped = r->message.find("window placement was not simulated") !=
                   std::string::npos;
    EXPECT_EQ(simulated, decode <= kWindowMaxDecodeSteps) << decode;
    EXPECT_EQ(skipped, decode > kWindowMaxDecodeSteps) << r->message;
  }
}

TEST(WindowPlacement, PlanIsWithinCapacityAndOrdered) {
  SeedLikeCase c = readmeShape(2, 1, 1024);
  auto acc = BlockAccesses::build(*c.trace, c.problem.work);
  ASSERT_TRUE(bool(acc));
  auto costs = ResourceCosts::fromModel(c.problem.model);
  ASSERT_TRUE(bool(costs));
  for (const WindowOptions &o : optionSets()) {
    WindowPlan p = planWindows(*acc, *costs, c.problem.capacityBlocks, o);
    EXPECT_LE(p.initial.size(), c.problem.capacityBlocks);
    // Replaying the planned sets step by step never exceeds the capacity.
    std::vector<uint8_t> in(acc->totalBlocks(), 0);
    uint64_t n = 0;
    for (BlockId b : p.initial) {
      in[b] = 1;
      ++n;
    }
    for (size_t k = 0; k < p.moves.size(); ++k) {
      const WindowMove &m = p.moves[k];
      if (k > 0) {
        const WindowMove &prev = p.moves[k - 1];
        ASSERT_TRUE(prev.step < m.step ||
                    (prev.step == m.step && prev.block < m.block));
      }
      ASSERT_NE(in[m.block], uint8_t(m.toHbm));
      in[m.block] = m.toHbm;
      n = m.toHbm ? n + 1 : n - 1;
      if (k + 1 == p.moves.size() || p.moves[k + 1].step != m.step) {
        EXPECT_LE(n, c.problem.capacityBlocks) << "step " << m.step;
      }
    }
    // A second plan is identical.
    WindowPlan q = planWindows(*acc, *costs, c.problem.capacityBlocks, o);
    ASSERT_EQ(p.moves.size(), q.moves.size());
    EXPECT_EQ(p.initial, q.initial);
    for (size_t k = 0; k < p.moves.size(); ++k)
      EXPECT_TRUE(p.moves[k].step == q.moves[k].step &&
                  p.moves[k].block == q.moves[k].block &&
                  p.moves[k].toHbm == q.moves[k].toHbm);
  }
}

} // namespace

TEST(WindowPlacement, SamePlanAsUnchangedAlgorithm) {
  // The planner's speed-ups (chain-major loops instead of a division per
  // block, inline cursor walks) keep every operation that decides anything:
  // the plan equals the one of the planner as first written, move for move,
  // on seed-like traces of several shapes (1- and 16-token blocks, ragged
  // prompts, long and short runs) and every option set the tests use.
  struct Shape {
    uint32_t layers, batch, prompt, decode, block;
  };
  for (Shape sh : {Shape{2, 2, 1000, 24, 16}, Shape{3, 1, 517, 40, 1},
                   Shape{1, 3, 2048, 64, 16}, Shape{2, 1, 333, 130, 4}}) {
    SeedLikeCase c = readmeShape(sh.layers, sh.batch, sh.prompt, sh.decode);
    Workload w = c.problem.work;
    w.tokensPerBlock = sh.block;
    auto acc = BlockAccesses::build(*c.trace, w);
    ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
    auto costs = ResourceCosts::fromModel(c.problem.model);
    ASSERT_TRUE(bool(costs));
    uint64_t cap = uint64_t(0.5 * double(acc->totalBlocks()));
    std::vector<WindowOptions> sets = optionSets();
    WindowOptions o;
    o.period = 3;
    o.horizon = 5;
    o.initialHorizon = 9;
    sets.push_back(o);
    uint64_t moves = 0, initial = 0;
    for (const WindowOptions &opt : sets) {
      WindowPlan p = planWindows(*acc, *costs, cap, opt);
      WindowPlan q = reference::referencePlanWindows(*acc, *costs, cap, opt);
      EXPECT_EQ(p.initial, q.initial);
      EXPECT_EQ(p.createInHbm, q.createInHbm);
      ASSERT_EQ(p.moves.size(), q.moves.size());
      moves += p.moves.size();
      initial += p.initial.size();
      for (size_t k = 0; k < p.moves.size(); ++k)
        ASSERT_TRUE(p.moves[k].step == q.moves[k].step &&
                    p.moves[k].block == q.moves[k].block &&
                    p.moves[k].toHbm == q.moves[k].toHbm)
            << "move " << k;
    }
    // The comparison is not vacuous: the shape plans moves.
    EXPECT_GT(moves, 0u) << sh.layers << "x" << sh.batch << " " << sh.prompt;
    EXPECT_GT(initial, 0u);
  }
}
