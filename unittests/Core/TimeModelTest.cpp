//===- TimeModelTest.cpp - Hand-computed step times -----------------------===//
#include "kvopt/Core/TimeModel.h"
#include "TestUtil.h"

using namespace kvopt;
using namespace kvopt::test;

namespace {
TimeModelParams tinyParams(Hierarchy h) {
  TimeModelParams p;
  p.hierarchy = h;
  p.entryBytes = 10;
  p.weightBytesPerStep = 100;
  p.hbmRead = p.hbmWrite = 100;
  p.dramRead = p.dramWrite = 10;
  p.h2d = 5;
  p.d2h = 4;
  return p;
}
} // namespace

TEST(TimeModel, ExclusiveHandComputed) {
  TimeModel m = unwrap(TimeModel::fromParams(tinyParams(Hierarchy::Exclusive)));
  StepCounts c;
  c.reads = 10;
  c.hits = 6;
  c.appendsHbm = 1;
  c.promotions = 2;
  c.demotions = 1;
  StepTime t = m.stepTime(c);
  // HBM: read 100 + 60 + 10 = 170, write 10 + 20 = 30 -> 1.7 + 0.3 = 2.0 s
  // DRAM: read 40 + 20 = 60, write 10 -> 6 + 1 = 7 s
  // H2D: 60 / 5 = 12 s; D2H: 10 / 4 = 2.5 s
  EXPECT_DOUBLE_EQ(t.bytes.hbmRead, 170);
  EXPECT_DOUBLE_EQ(t.bytes.hbmWrite, 30);
  EXPECT_DOUBLE_EQ(t.bytes.dramRead, 60);
  EXPECT_DOUBLE_EQ(t.bytes.dramWrite, 10);
  EXPECT_DOUBLE_EQ(t.bytes.h2d, 60);
  EXPECT_DOUBLE_EQ(t.bytes.d2h, 10);
  EXPECT_DOUBLE_EQ(t.seconds, 12);
  EXPECT_EQ(t.bottleneck, Bottleneck::H2D);
}

TEST(TimeModel, ExclusiveHbmBoundAndFixedTerm) {
  TimeModelParams p = tinyParams(Hierarchy::Exclusive);
  p.fixedStepSeconds = 0.5;
  TimeModel m = unwrap(TimeModel::fromParams(p));
  StepCounts c;
  c.reads = 20;
  c.hits = 20;
  c.appendsHbm = 1;
  StepTime t = m.stepTime(c);
  // HBM: (100 + 200) / 100 + 10 / 100 = 3.1 s, nothing else.
  EXPECT_DOUBLE_EQ(t.seconds, 3.1 + 0.5);
  EXPECT_EQ(t.bottleneck, Bottleneck::HBM);
  EXPECT_DOUBLE_EQ(t.paperAlpha, 1.0);
}

TEST(TimeModel, InclusiveSplitClampedToHits) {
  TimeModel m = unwrap(TimeModel::fromParams(tinyParams(Hierarchy::Inclusive)));
  StepCounts c;
  c.reads = 10;
  c.hits = 6;
  c.appendsHbm = 1;
  StepTime t = m.stepTime(c);
  // The balance point (x = 90 B) lies beyond the 60 B of hits: all hits
  // from HBM. H2D carries the 40 B of misses: 8 s. The append writes
  // through (DRAM 10 B, D2H 10 B) and to HBM.
  EXPECT_DOUBLE_EQ(t.hitBytesFromHbm, 60);
  EXPECT_DOUBLE_EQ(t.bytes.h2d, 40);
  EXPECT_DOUBLE_EQ(t.bytes.d2h, 10);
  EXPECT_DOUBLE_EQ(t.bytes.hbmWrite, 10);
  EXPECT_DOUBLE_EQ(t.seconds, 8);
}

TEST(TimeModel, InclusiveSplitBalancesTiers) {
  TimeModelParams p = tinyParams(Hierarchy::Inclusive);
  p.dramRead = p.dramWrite = 50;
  p.h2d = p.d2h = 1000;
  TimeModel m = unwrap(TimeModel::fromParams(p));
  StepCounts c;
  c.reads = 10;
  c.hits = 6;
  c.appendsHbm = 1;
  StepTime t = m.stepTime(c);
  // HBM(x) = 1.1 + x/100, DRAM(x) = (100 - x)/50 + 10/50: equal at
  // x = 36.666.. B; both then take 1.4666.. s.
  EXPECT_NEAR(t.hitBytesFromHbm, 110.0 / 3.0, 1e-9);
  EXPECT_NEAR(t.seconds, 1.1 + 110.0 / 300.0, 1e-12);
  EXPECT_EQ(t.bottleneck, Bottleneck::HBM);
}

TEST(TimeModel, InclusiveDemotionsAreFree) {
  TimeModel m = unwrap(TimeModel::fromParams(tinyParams(Hierarchy::Inclusive)));
  StepCounts c;
  c.reads = 0;
  c.appendsHbm = 1;
  StepTime a = m.stepTime(c);
  c.demotions = 50;
  StepTime b = m.stepTime(c);
  EXPECT_DOUBLE_EQ(a.seconds, b.seconds);
}

TEST(TimeModel, PaperModeReproducesSeedFormula) {
  MemorySystem mem = unwrap(getHardwarePreset("paper"));
  Workload w = makePaperWorkload();
  TimeModel m = unwrap(
      TimeModel::create(mem, w, TimeModelMode::Paper, Hierarchy::Inclusive));
  EXPECT_NEAR(m.bandwidthBalancedFraction(), 0.9158878504672897, 1e-15);
  // Unlimited-like step: all 12,519 reads hit, the new token goes to HBM.
  // Values computed by hand from SEED-MODEL.md section 3 (in seconds).
  StepCounts c;
  c.reads = 12519;
  c.hits = 12519;
  c.appendsHbm = 1;
  StepTime t = m.stepTime(c);
  EXPECT_NEAR(t.paperAlpha, 0.9158878504672897, 1e-15);
  EXPECT_NEAR(t.seconds, 6.882164701973003e-05, 1e-17);
  // Static-like: 5,000 hits, new token to DRAM: alpha = max_alpha.
  c.hits = 5000;
  c.appendsHbm = 0;
  c.appendsDram = 1;
  t = m.stepTime(c);
  EXPECT_NEAR(t.paperAlpha, 0.6652419749788522, 1e-15);
  EXPECT_NEAR(t.seconds, 0.00027379484444444444, 1e-16);
  // Ten promotions, new token to HBM (beta = 1).
  c.promotions = 10;
  c.appendsHbm = 1;
  c.appendsDram = 0;
  t = m.stepTime(c);
  EXPECT_NEAR(t.seconds, 0.0002744866133333334, 1e-16);
}

TEST(TimeModel, RejectsZeroBandwidthAndPaperExclusive) {
  TimeModelParams p = tinyParams(Hierarchy::Exclusive);
  p.h2d = 0;
  std::string msg = errorOf(TimeModel::fromParams(p));
  EXPECT_NE(msg.find("h2d_bandwidth"), std::string::npos) << msg;
  p = tinyParams(Hierarchy::Exclusive);
  p.mode = TimeModelMode::Paper;
  p.paperExtInternal = 10;
  msg = errorOf(TimeModel::fromParams(p));
  EXPECT_NE(msg.find("inclusive"), std::string::npos) << msg;
}

TEST(Problem, CapacityStandardAndPaper) {
  Workload w = tinyWorkload(2, 4, 2, /*entry=*/10);
  Problem p = unwrap(Problem::create(tinySystem(105), w));
  EXPECT_EQ(p.capacityBlocks, 10u);
  MemorySystem mem = unwrap(getHardwarePreset("paper"));
  Problem paper = unwrap(Problem::create(
      mem, makePaperWorkload(), TimeModelMode::Paper, Hierarchy::Inclusive));
  // floor((24 GiB - 16e9) / 16384) - 1.
  EXPECT_EQ(paper.capacityBlocks, 596300u);
  std::string msg = errorOf(Problem::create(tinySystem(5), w));
  EXPECT_NE(msg.find("below one block"), std::string::npos) << msg;
}
