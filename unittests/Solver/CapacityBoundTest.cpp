//===- CapacityBoundTest.cpp - The per-step capacity bound ----------------===//
//
// The step minimisation is exact (checked against a fine grid), the top-C
// hit counts are the hand-computed ones, and on random small instances the
// bound is below every capacity-respecting schedule the simulator runs
// (every baseline and the balanced oracle). The comparison against the
// brute-force optimum lives with the exact model's property test.
//
//===----------------------------------------------------------------------===//
#include "SolverTestUtil.h"

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/CapacityBound.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace kvopt;
using namespace kvopt::solver;
using namespace kvopt::testing;

namespace {

constexpr double kTol = 1e-9;

TEST(CapacityBound, StepMinimumMatchesGrid) {
  Rng rng(17);
  for (int round = 0; round < 200; ++round) {
    ResourceCosts c;
    auto u = [&] { return 1e-9 * (1 + 9 * rng.unit()); };
    c.hit = {u(), 0, 0, 0};
    c.miss = {0, u(), u(), 0};
    c.appendHbm = {u(), 0, 0, 0};
    c.appendDram = {0, u(), 0, u()};
    c.weights = {round % 3 ? 0 : 1e3 * u(), 0, 0, 0};
    c.fixedStepSeconds = round % 2 ? 0 : u();
    double groups = 1 + double(rng.below(4));
    double reads = double(rng.below(200));
    double maxHits = std::floor(reads * rng.unit());
    double appends = double(rng.below(8));
    double got = cheapestStepSeconds(c, groups, reads, maxHits, appends);
    double grid = std::numeric_limits<double>::infinity();
    const int n = 400;
    for (int i = 0; i <= n; ++i) {
      for (int k = 0; k <= 200; ++k) {
        double h = maxHits * i / n, a = appends * k / 200, m = 0;
        for (unsigned r = 0; r < kNumResources; ++r)
          m = std::max(m, groups * c.weights[r] + h * c.hit[r] +
                              (reads - h) * c.miss[r] + a * c.appendHbm[r] +
                              (appends - a) * c.appendDram[r]);
        grid = std::min(grid, m + groups * c.fixedStepSeconds);
      }
    }
    // Exact minimum: never above the grid, and the grid comes close.
    EXPECT_LE(got, grid * (1 + kTol)) << "round " << round;
    EXPECT_GE(got, grid * (1 - 0.005)) << "round " << round;
  }
}

TEST(CapacityBound, TopCountsPerStep) {
  // One layer, one sequence, 2 tokens per block, prompt 4 (blocks 0, 1),
  // 2 decode steps. Step 0 reads tokens {0, 1, 2}: counts 2 and 1; step 1
  // reads {3, 4}: counts 1 (block 1) and 1 (block 2, created at step 0).
  TraceHeader h{1, 1, 4, 2};
  auto tr = MemoryTrace::fromFullSets(h, {{{0, 1, 2}}, {{3, 4}}});
  ASSERT_TRUE(bool(tr)) << errorToString(tr.takeError());
  Workload w = makePaperWorkload(4, 2);
  w.model.layers = 1;
  w.model.slidingWindow.assign(1, 0);
  w.tokensPerBlock = 2;
  w.residentWeightBytesOverride = 0;
  auto acc = BlockAccesses::build(**tr, w);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
  ResourceCosts c;
  c.hit = {1, 0, 0, 0};
  c.miss = {0, 4, 4, 0};
  for (uint64_t cap : {1, 2, 3}) {
    CapacityBoundResult r = capacityStepBound(*acc, c, cap);
    ASSERT_EQ(r.maxHits.size(), 2u);
    EXPECT_EQ(r.maxHits[0], cap == 1 ? 2u : 3u) << cap;
    EXPECT_EQ(r.maxHits[1], cap == 1 ? 1u : 2u) << cap;
  }
  // Capacity 1, step 0: 3 reads, at most 2 hits: min over h <= 2 of
  // max(h, 4 (3 - h)) = max(2, 4) = 4. Step 1: min over h <= 1 of
  // max(h, 4 (2 - h)) = 4. Total 8, less the margin.
  CapacityBoundResult r = capacityStepBound(*acc, c, 1);
  EXPECT_NEAR(r.stepSeconds[0], 4, 1e-12);
  EXPECT_NEAR(r.stepSeconds[1], 4, 1e-12);
  EXPECT_NEAR(r.bound, 8, 1e-6);
  EXPECT_LE(r.bound, 8);
}

llvm::Expected<SimMetrics> run(const Instance &in, Policy &pol) {
  auto src = in.trace->reopen();
  if (!src)
    return src.takeError();
  return simulate(**src, in.problem, pol);
}

TEST(CapacityBound, BelowEveryFeasibleSchedule) {
  unsigned checked = 0;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    Rng rng(seed * 104729);
    InstanceShape s{1 + uint32_t(rng.below(2)), 1 + uint32_t(rng.below(2)),
                    2 + uint32_t(rng.below(6)), 2 + uint32_t(rng.below(5)),
                    1 + uint32_t(rng.below(3))};
    auto in = randomInstance(rng, s);
    ASSERT_TRUE(in) << "seed " << seed;
    auto acc = BlockAccesses::build(*in->trace, in->problem.work);
    ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
    auto costs = ResourceCosts::fromModel(in->problem.model);
    ASSERT_TRUE(bool(costs));
    double bound =
        capacityStepBound(*acc, *costs, in->problem.capacityBlocks).bound;
    EXPECT_GT(bound, 0);
    std::vector<std::unique_ptr<Policy>> pols;
    pols.push_back(createBalancedPolicy(*acc, *costs));
    for (const std::string &name : listPolicyNames()) {
      auto pol = createPolicyByName(name);
      ASSERT_TRUE(bool(pol));
      if (!(*pol)->ignoresCapacity())
        pols.push_back(std::move(*pol));
    }
    for (auto &pol : pols) {
      auto m = run(*in, *pol);
      ASSERT_TRUE(bool(m)) << pol->name() << ": "
                           << errorToString(m.takeError());
      EXPECT_LE(bound, m->totalSeconds * (1 + kTol))
          << "seed " << seed << ", " << pol->name();
      ++checked;
    }
  }
  EXPECT_GT(checked, 600u);
}

} // namespace
