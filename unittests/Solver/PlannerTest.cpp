//===- PlannerTest.cpp - The planning driver's portfolio and determinism --===//
//
// The plan is never worse than a capacity-respecting row of its own table
// (random small instances, including ones where the whole KV cache fits),
// its schedule replays to the reported time within the capacity, and the
// bound's evaluation gives bit-identical values on any thread count.
//
//===----------------------------------------------------------------------===//
#include "SolverTestUtil.h"

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Planning/Planner.h"
#include "kvopt/Solver/LagrangianBound.h"

#include "gtest/gtest.h"

using namespace kvopt;
using namespace kvopt::solver;
using namespace kvopt::testing;

namespace {

TEST(Planner, PlanNeverWorseThanACapacityRespectingBaseline) {
  unsigned adopted = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed * 6151);
    InstanceShape s{1 + uint32_t(rng.below(2)), 1 + uint32_t(rng.below(2)),
                    4 + uint32_t(rng.below(8)), 3 + uint32_t(rng.below(6)),
                    1 + uint32_t(rng.below(3))};
    auto in = randomInstance(rng, s);
    ASSERT_TRUE(in) << "seed " << seed;
    // Every other instance: the whole cache fits in HBM.
    if (seed % 2 == 0) {
      uint64_t all = uint64_t(s.batch) * s.layers *
                     in->problem.work.blocksPerSeqLayer();
      in->problem = in->problem.withCapacityBlocks(all);
    }
    TraceFactory factory = [&]() { return in->trace->reopen(); };
    PlanOptions opts;
    opts.solver = "lagrangian";
    opts.threads = 1;
    auto r = planPlacement(in->problem, factory, opts);
    ASSERT_TRUE(bool(r)) << errorToString(r.takeError());
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_LE(r->boundSeconds, r->scheduleSeconds * (1 + 1e-9));
    EXPECT_EQ(r->plan.metrics.totalSeconds, r->scheduleSeconds);
    EXPECT_LE(r->plan.metrics.peakHbmBlocks, in->problem.capacityBlocks);
    // Every baseline ran (none is skipped at this size), in listed order.
    std::vector<std::string> names = listPolicyNames();
    ASSERT_EQ(r->baselines.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      auto pol = createPolicyByName(names[i]);
      ASSERT_TRUE(bool(pol));
      if (!(*pol)->ignoresCapacity())
        EXPECT_LE(r->scheduleSeconds, r->baselines[i].metrics.totalSeconds)
            << names[i];
    }
    if (r->planner.find(", schedule: ") != std::string::npos)
      ++adopted;
    // The recorded schedule replays to the reported time.
    auto replay = createSchedulePolicy(r->schedule, "replay");
    auto src = in->trace->reopen();
    ASSERT_TRUE(bool(src));
    auto m = simulate(**src, in->problem, *replay);
    ASSERT_TRUE(bool(m)) << errorToString(m.takeError());
    EXPECT_EQ(m->totalSeconds, r->scheduleSeconds);
    EXPECT_LE(m->peakHbmBlocks, in->problem.capacityBlocks);
  }
  // The portfolio is exercised (a baseline won somewhere).
  EXPECT_GT(adopted, 0u);
}

TEST(Planner, BoundIndependentOfThreadCount) {
  Rng rng(99);
  auto in = randomInstance(rng, {2, 2, 40, 12, 1});
  ASSERT_TRUE(in);
  auto acc = BlockAccesses::build(*in->trace, in->problem.work);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
  auto costs = ResourceCosts::fromModel(in->problem.model);
  ASSERT_TRUE(bool(costs));
  LagrangianBound lb(*acc, *costs, in->problem.capacityBlocks);
  LagrangianOptions o;
  o.windows = 4;
  o.maxIterations = 12;
  o.threads = 1;
  LagrangianResult one = lb.optimize(o);
  for (unsigned t : {2u, 3u, 16u}) {
    o.threads = t;
    LagrangianResult many = lb.optimize(o);
    EXPECT_EQ(one.bound, many.bound) << t << " threads";
    EXPECT_EQ(one.history, many.history) << t << " threads";
    EXPECT_FALSE(many.stoppedByTimeLimit);
  }
}

} // namespace
