//===- BoundPropertyTest.cpp - bound <= optimum <= every schedule ---------===//
//
// Over 1,000+ random small instances (capacities, bandwidths, traces,
// granularities, batch): the Lagrangian bound and the LP relaxation are
// <= the exact Z3 optimum, which is <= every baseline's simulated time; the
// exact schedule replays in the simulator to exactly its optimum; the
// Lagrangian plan schedule is feasible and replays to the reported time.
//
//===----------------------------------------------------------------------===//
#include "SolverTestUtil.h"

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/LagrangianBound.h"
#include "kvopt/Solver/PlacementProgram.h"
#include "kvopt/Solver/PlanPolicy.h"
#include "kvopt/Solver/ResourceCosts.h"
#include "kvopt/Solver/Solver.h"
#include "kvopt/Solver/Z3Backend.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <vector>

using namespace kvopt;
using namespace kvopt::solver;
using namespace kvopt::testing;

namespace {

/// Relative tolerance for comparing exact rationals rounded to double with
/// the simulator's double sums.
constexpr double kTol = 1e-9;

llvm::Expected<SimMetrics> run(const Instance &in, Policy &pol) {
  auto src = in.trace->reopen();
  if (!src)
    return src.takeError();
  return simulate(**src, in.problem, pol);
}

InstanceShape randomShape(Rng &rng) {
  InstanceShape s;
  unsigned kind = unsigned(rng.below(10));
  s.tokensPerBlock = 1 + uint32_t(rng.below(2));
  if (kind < 8) { // one (layer, sequence)
    s.layers = s.batch = 1;
    s.prompt = 2 + uint32_t(rng.below(3));
    s.decode = 2 + uint32_t(rng.below(2));
  } else { // two layers or two sequences sharing HBM
    bool twoSeq = kind == 9;
    s.layers = twoSeq ? 1 : 2;
    s.batch = twoSeq ? 2 : 1;
    s.prompt = 2 + uint32_t(rng.below(2));
    s.decode = 2;
  }
  return s;
}

struct Counts {
  unsigned solved = 0, timeouts = 0, baselineRuns = 0;
};

void checkInstance(const Instance &in, uint64_t seed, Counts &counts) {
  SCOPED_TRACE("instance seed " + std::to_string(seed));
  auto prog = buildPlacementProgram(in.problem, *in.trace);
  ASSERT_TRUE(bool(prog)) << errorToString(prog.takeError());
  auto exact = solveWithZ3(*prog, false, 10);
  ASSERT_TRUE(bool(exact)) << errorToString(exact.takeError());
  if (exact->status == Z3Solution::Status::Timeout) {
    ++counts.timeouts;
    return;
  }
  ASSERT_EQ(exact->status, Z3Solution::Status::Optimal);
  ++counts.solved;
  const double opt = prog->toSeconds(exact->objectiveUnits);

  // The exact schedule: feasible, and the simulator agrees with Z3.
  Schedule sched = prog->toSchedule(exact->values);
  auto replay = createSchedulePolicy(sched, "z3");
  auto m = run(in, *replay);
  ASSERT_TRUE(bool(m)) << errorToString(m.takeError());
  EXPECT_LE(m->peakHbmBlocks, in.problem.capacityBlocks);
  EXPECT_NEAR(m->totalSeconds, opt, opt * kTol);

  // LP relaxation <= exact.
  auto lp = solveWithZ3(*prog, true, 10);
  ASSERT_TRUE(bool(lp)) << errorToString(lp.takeError());
  ASSERT_EQ(lp->status, Z3Solution::Status::Optimal);
  const double lpSec = prog->toSeconds(lp->objectiveUnits);
  EXPECT_LE(lpSec, opt * (1 + kTol));

  // Lagrangian bound <= exact, at the start and after ascent.
  auto acc = BlockAccesses::build(*in.trace, in.problem.work);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
  auto costs = ResourceCosts::fromModel(in.problem.model);
  ASSERT_TRUE(bool(costs));
  LagrangianBound lb(*acc, *costs, in.problem.capacityBlocks);
  LagrangianOptions lo;
  lo.windows = in.problem.work.decodeSteps;
  lo.maxIterations = 25;
  LagrangianResult lr = lb.optimize(lo);
  EXPECT_LE(lr.bound, opt * (1 + kTol)) << "LP " << lpSec;
  DualValue start = lb.evaluate(lb.initialPrices(lo.windows), false);
  EXPECT_LE(start.bound, opt * (1 + kTol));

  // The plan schedule: feasible, and never better than the optimum.
  BlockPlan plan;
  lb.evaluate(lr.prices, false, &plan);
  auto planPolicy = createPlanPolicy(plan, *acc);
  Schedule recorded;
  auto rec = createRecordingPolicy(*planPolicy, recorded);
  auto pm = run(in, *rec);
  ASSERT_TRUE(bool(pm)) << errorToString(pm.takeError());
  EXPECT_GE(pm->totalSeconds, opt * (1 - kTol));
  EXPECT_LE(pm->peakHbmBlocks, in.problem.capacityBlocks);
  auto again = createSchedulePolicy(recorded, "replay");
  auto rm = run(in, *again);
  ASSERT_TRUE(bool(rm)) << errorToString(rm.takeError());
  EXPECT_EQ(rm->totalSeconds, pm->totalSeconds);

  // The balanced oracle: feasible and never better than the optimum.
  auto balanced = createBalancedPolicy(*acc, *costs);
  auto bal = run(in, *balanced);
  ASSERT_TRUE(bool(bal)) << errorToString(bal.takeError());
  EXPECT_GE(bal->totalSeconds, opt * (1 - kTol));
  EXPECT_LE(bal->peakHbmBlocks, in.problem.capacityBlocks);

  // Every capacity-respecting baseline is >= the optimum.
  for (const std::string &name : listPolicyNames()) {
    auto pol = createPolicyByName(name);
    ASSERT_TRUE(bool(pol));
    if ((*pol)->ignoresCapacity())
      continue;
    auto bm = run(in, **pol);
    ASSERT_TRUE(bool(bm)) << name << ": " << errorToString(bm.takeError());
    EXPECT_GE(bm->totalSeconds, opt * (1 - kTol)) << name;
    ++counts.baselineRuns;
  }
}

/// Seeds [first, first + count) of the 1,000 instances: shards of 50, so
/// that ctest runs them in parallel and the sanitizer run can take a fixed
/// subset (scripts/sanitize.sh).
struct Shard {
  uint64_t first, count;
};

constexpr uint64_t kInstances = 1000, kShardSize = 50;

std::vector<Shard> allShards() {
  std::vector<Shard> out;
  for (uint64_t first = 1; first <= kInstances; first += kShardSize)
    out.push_back({first, std::min(kShardSize, kInstances + 1 - first)});
  return out;
}

void PrintTo(const Shard &s, std::ostream *os) {
  *os << "seeds " << s.first << ".." << s.first + s.count - 1;
}

class BoundProperty : public ::testing::TestWithParam<Shard> {};

TEST_P(BoundProperty, BoundBelowOptimumBelowEverySchedule) {
  const Shard &sh = GetParam();
  Counts counts;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed = sh.first; seed < sh.first + sh.count; ++seed) {
    Rng rng(seed * 7919);
    auto in = randomInstance(rng, randomShape(rng));
    ASSERT_TRUE(in) << "seed " << seed;
    checkInstance(*in, seed, counts);
    if (::testing::Test::HasFatalFailure())
      return;
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("solved %u instances exactly (%u Z3 timeouts), %u baseline "
              "runs, %.1f s\n",
              counts.solved, counts.timeouts, counts.baselineRuns, secs);
  // Every instance of the shard is solved to optimality (no timeouts).
  EXPECT_EQ(counts.solved, sh.count);
}

INSTANTIATE_TEST_SUITE_P(Shards, BoundProperty, ::testing::ValuesIn(allShards()),
                         [](const ::testing::TestParamInfo<Shard> &i) {
                           return "seeds_" + std::to_string(i.param.first) +
                                  "_to_" +
                                  std::to_string(i.param.first +
                                                 i.param.count - 1);
                         });

/// Together the shards are seeds 1..1000, each once.
TEST(BoundPropertyCoverage, AThousandInstances) {
  uint64_t next = 1;
  for (const Shard &s : allShards()) {
    EXPECT_EQ(s.first, next);
    next += s.count;
  }
  EXPECT_EQ(next - 1, kInstances);
}

} // namespace
