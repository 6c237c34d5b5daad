//===- ResourceCostsTest.cpp - Per-entry vectors vs TimeModel::stepTime ---===//
//
// The solver prices actions with per-entry resource vectors; they must give
// exactly the core time model's step time for any step counts.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Random.h"
#include "kvopt/Core/TimeModel.h"
#include "kvopt/Solver/ResourceCosts.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace kvopt;
using namespace kvopt::solver;

TEST(ResourceCosts, MatchTimeModelStepTime) {
  Rng rng(42);
  for (int n = 0; n < 2000; ++n) {
    TimeModelParams p;
    p.entryBytes = double(1 + rng.below(65536));
    p.weightBytesPerStep = double(rng.below(1u << 28));
    p.fixedStepSeconds = rng.below(2) ? 0 : 1e-6 * rng.unit();
    auto bw = [&] { return 1e9 * (1 + double(rng.below(5000))); };
    p.hbmRead = bw(), p.hbmWrite = bw(), p.dramRead = bw(), p.dramWrite = bw();
    p.h2d = bw(), p.d2h = bw();
    auto model = TimeModel::fromParams(p);
    ASSERT_TRUE(bool(model)) << errorToString(model.takeError());
    auto c = ResourceCosts::fromModel(*model);
    ASSERT_TRUE(bool(c)) << errorToString(c.takeError());
    StepCounts s;
    s.reads = rng.below(100000);
    s.hits = rng.below(s.reads + 1);
    s.appendsHbm = rng.below(3);
    s.appendsDram = rng.below(3);
    s.promotions = rng.below(5000);
    s.demotions = rng.below(5000);
    double t[kNumResources];
    for (unsigned r = 0; r < kNumResources; ++r)
      t[r] = c->weights[r] + double(s.hits) * c->hit[r] +
             double(s.reads - s.hits) * c->miss[r] +
             double(s.promotions) * c->promote[r] +
             double(s.demotions) * c->demote[r] +
             double(s.appendsHbm) * c->appendHbm[r] +
             double(s.appendsDram) * c->appendDram[r];
    double mine = *std::max_element(t, t + kNumResources) + c->fixedStepSeconds;
    double core = model->stepTime(s).seconds;
    EXPECT_NEAR(mine, core, core * 1e-12) << "case " << n;
  }
}

TEST(ResourceCosts, InclusiveHierarchyIsRefused) {
  TimeModelParams p;
  p.entryBytes = 1;
  p.hbmRead = p.hbmWrite = p.dramRead = p.dramWrite = p.h2d = p.d2h = 1;
  p.hierarchy = Hierarchy::Inclusive;
  auto model = TimeModel::fromParams(p);
  ASSERT_TRUE(bool(model));
  auto c = ResourceCosts::fromModel(*model);
  ASSERT_FALSE(bool(c));
  EXPECT_NE(errorToString(c.takeError()).find("inclusive"), std::string::npos);
}
