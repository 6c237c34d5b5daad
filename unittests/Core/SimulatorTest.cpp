//===- SimulatorTest.cpp - Simulator invariants, schedules, errors -------===//
#include "kvopt/Core/Simulator.h"
#include "TestUtil.h"
#include "kvopt/Core/Annealing.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/TraceIO.h"

using namespace kvopt;
using namespace kvopt::test;

namespace {
GeneratorParams genParams(uint32_t batch = 1) {
  GeneratorParams g;
  g.layers = 3;
  g.batch = batch;
  g.promptLen = 400;
  g.decodeSteps = 50;
  g.sparsity = 0.6;
  g.swapFraction = 0.2;
  g.seed = 3;
  return g;
}

Problem paperLike(uint32_t batch, uint32_t block, double capEntries) {
  // Paper-mode formulas with a tiny weight term, so the KV traffic matters.
  Workload w =
      tinyWorkload(3, 400, 50, /*entry=*/16384, /*w=*/2e6, batch, block);
  MemorySystem m = unwrap(getHardwarePreset("paper"));
  m.tiers[0].capacityBytes = capEntries * 16384 / 1073741824.0 * 1e9;
  return unwrap(
      Problem::create(m, w, TimeModelMode::Paper, Hierarchy::Inclusive));
}

class BadPolicy : public Policy {
public:
  explicit BadPolicy(int mode) : mode(mode) {}
  std::string name() const override { return "bad"; }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    if (mode == 0) // more prompt blocks than fit
      for (BlockId b = 0; b < ctx.res.capacityBlocks() + 1; ++b)
        hbm.push_back(b);
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    if (mode == 1)
      act.demote.push_back(ctx.res.blockOf(info.seq, info.layer, 0));
    if (mode == 2)
      act.promote.push_back(ctx.res.totalBlocks() + 5);
    return llvm::Error::success();
  }
  int mode;
};
} // namespace

TEST(Simulator, LayerMismatchIsAnError) {
  auto src = unwrap(makeGenerator(genParams()));
  Problem p =
      unwrap(Problem::create(tinySystem(1e6), tinyWorkload(4, 400, 50)));
  auto pol = createStaticPolicy();
  std::string msg = errorOf(simulate(*src, p, *pol));
  EXPECT_NE(msg.find("field 'layers': trace has 3 but the workload"),
            std::string::npos)
      << msg;
}

TEST(Simulator, InvalidPolicyActionsAreErrors) {
  Problem p =
      unwrap(Problem::create(tinySystem(100), tinyWorkload(3, 400, 50)));
  for (int mode = 0; mode < 3; ++mode) {
    auto src = unwrap(makeGenerator(genParams()));
    BadPolicy bad(mode);
    std::string msg = errorOf(simulate(*src, p, bad));
    const char *want[3] = {"exceed the HBM capacity", "is not in HBM",
                           "does not exist"};
    EXPECT_NE(msg.find(want[mode]), std::string::npos) << msg;
    EXPECT_NE(msg.find("policy 'bad'"), std::string::npos) << msg;
  }
}

TEST(Simulator, StepStreamSumsToTotal) {
  Problem p = paperLike(1, 1, 300);
  auto src = unwrap(makeGenerator(genParams()));
  auto pol = createReactiveLruPolicy();
  double sum = 0;
  uint64_t steps = 0, maxHbm = 0;
  SimOptions opt;
  opt.onStep = [&](const StepResult &r) {
    sum += r.time.seconds;
    ++steps;
    maxHbm = std::max(maxHbm, r.hbmBlocks);
    EXPECT_LE(r.counts.hits, r.counts.reads);
  };
  SimMetrics m = unwrap(simulate(*src, p, *pol, opt));
  EXPECT_EQ(steps, 150u);
  EXPECT_DOUBLE_EQ(sum, m.totalSeconds);
  EXPECT_LE(maxHbm, p.capacityBlocks);
  EXPECT_LE(m.peakHbmBlocks, p.capacityBlocks);
  EXPECT_GT(m.aggregateUtilisation, 0);
  EXPECT_LE(m.aggregateUtilisation, 1.0 + 1e-9);
}

/// Every policy's decisions, recorded as a schedule and replayed, give
/// exactly the same time (what the solver relies on).
TEST(Simulator, ScheduleReplayIsExact) {
  for (uint32_t batch : {1u, 2u})
    for (uint32_t block : {1u, 4u}) {
      Problem p = paperLike(batch, block, 600.0 * batch);
      for (const std::string &name : listPolicyNames()) {
        auto policy = unwrap(createPolicyByName(name, 3, 0.5));
        Schedule sched;
        auto rec = createRecordingPolicy(*policy, sched);
        auto src = unwrap(makeGenerator(genParams(batch)));
        SimMetrics a = unwrap(simulate(*src, p, *rec));
        auto replay = createSchedulePolicy(sched, name + "-replay");
        auto src2 = unwrap(makeGenerator(genParams(batch)));
        Problem q =
            policy->ignoresCapacity() ? p.withCapacityBlocks(UINT32_MAX) : p;
        SimMetrics b = unwrap(simulate(*src2, q, *replay));
        EXPECT_EQ(a.totalSeconds, b.totalSeconds) << name;
        EXPECT_EQ(a.hits, b.hits) << name;
        EXPECT_EQ(a.promotedEntries, b.promotedEntries) << name;
      }
    }
}

/// In paper mode reads are split at best_alpha at most, so no policy can
/// beat Unlimited, and Static cannot beat the best oracles here.
TEST(Simulator, PaperModeOrdering) {
  Problem p = paperLike(1, 1, 500);
  double unlimited = 0, statik = 0;
  for (const std::string &name : listPolicyNames()) {
    auto policy = unwrap(createPolicyByName(name, 3, 1.0));
    auto src = unwrap(makeGenerator(genParams()));
    SimMetrics m = unwrap(simulate(*src, p, *policy));
    if (name == "unlimited")
      unlimited = m.totalSeconds;
    if (name == "static")
      statik = m.totalSeconds;
  }
  for (const std::string &name : listPolicyNames()) {
    auto policy = unwrap(createPolicyByName(name, 3, 1.0));
    auto src = unwrap(makeGenerator(genParams()));
    SimMetrics m = unwrap(simulate(*src, p, *policy));
    EXPECT_GE(m.totalSeconds, unlimited * (1 - 1e-12)) << name;
    if (name == "belady" || name == "lookahead") {
      EXPECT_LT(m.totalSeconds, statik) << name;
    }
  }
}

TEST(Simulator, AnnealingIsDeterministicAndNoWorseThanStart) {
  Problem p = paperLike(1, 1, 500);
  auto src = unwrap(makeGenerator(genParams()));
  AnnealParams ap;
  ap.iterations = 6;
  AnnealResult a = unwrap(annealLookahead(*src, p, ap));
  AnnealResult b = unwrap(annealLookahead(*src, p, ap));
  EXPECT_EQ(a.bestWindow, b.bestWindow);
  EXPECT_EQ(a.bestFraction, b.bestFraction);
  EXPECT_EQ(a.history.size(), 6u);
  EXPECT_LE(a.best.totalSeconds, a.history.front().seconds);
}

//===----------------------------------------------------------------------===//
// Sliding-window (local) layers: docs/model.md section 6.
//===----------------------------------------------------------------------===//

namespace {
/// 2 layers, prompt 8, decode 8, 2-token blocks; layer 0 keeps a 4-token
/// window, layer 1 is global.
Workload windowWorkload() {
  Workload w = tinyWorkload(2, 8, 8, 10, 100, 1, 2);
  w.model.slidingWindow = {4, 0};
  return w;
}

GeneratorParams windowParams() {
  GeneratorParams g;
  g.kind = GeneratorKind::Uniform;
  g.layers = 2;
  g.promptLen = 8;
  g.decodeSteps = 8;
  g.sparsity = 0.2;
  g.seed = 7;
  g.layerWindows = {4, 0};
  return g;
}

/// Initial HBM from a fixed list.
class ListPolicy : public Policy {
public:
  explicit ListPolicy(std::vector<BlockId> b) : blocks(std::move(b)) {}
  std::string name() const override { return "list"; }
  llvm::Error initialize(const SimContext &, std::vector<BlockId> &hbm) override {
    hbm = blocks;
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &, const StepInfo &info,
                   StepActions &act) override {
    act.newBlockInHbm = false;
    return llvm::Error::success();
  }
  std::vector<BlockId> blocks;
};
} // namespace

TEST(SimulatorWindow, GeneratorReadsOnlyTheWindow) {
  auto src = unwrap(makeGenerator(windowParams()));
  ReadSetTracker tracker(src->header());
  TraceRecord rec;
  std::string field, msg;
  uint64_t localReads = 0;
  while (unwrap(src->next(rec))) {
    ASSERT_TRUE(tracker.apply(rec, field, msg)) << field << ": " << msg;
    if (rec.layer != 0)
      continue;
    uint32_t n = 8 + rec.step;
    for (uint32_t t = 0; t < n - 4; ++t)
      EXPECT_FALSE(tracker.contains(0, 0, t)) << "step " << rec.step;
    localReads += tracker.size(0, 0);
    EXPECT_LE(tracker.size(0, 0), 4u);
  }
  EXPECT_GT(localReads, 0u);
}

TEST(SimulatorWindow, DeadBlocksLeaveHbmForFree) {
  Workload w = windowWorkload();
  Problem p = unwrap(Problem::create(tinySystem(1e6), w));
  // Every policy runs on the windowed trace; Unlimited keeps every live
  // block in HBM, and the local layer holds at most 3 live 2-token blocks.
  auto unlimited = createUnlimitedPolicy();
  auto src = unwrap(makeGenerator(windowParams()));
  SimMetrics m = unwrap(simulate(*src, p, *unlimited));
  EXPECT_EQ(m.peakHbmBlocks, 8u + 3u);
  EXPECT_EQ(m.demotedBlocks, 0u);
  for (auto make : {createReactiveLruPolicy, createStaticPolicy,
                    createPageOraclePolicy, createSeedReactivePolicy}) {
    auto pol = make();
    auto s = unwrap(makeGenerator(windowParams()));
    SimMetrics r = unwrap(simulate(*s, p.withCapacityBlocks(3), *pol));
    EXPECT_LE(r.peakHbmBlocks, 3u) << pol->name();
  }
  // The global layer alone, and the local one: dying blocks free slots.
  Workload g = w;
  g.model.slidingWindow = {0, 0};
  GeneratorParams gp = windowParams();
  gp.layerWindows.clear();
  auto gs = unwrap(makeGenerator(gp));
  SimMetrics all = unwrap(
      simulate(*gs, unwrap(Problem::create(tinySystem(1e6), g)), *unlimited));
  EXPECT_EQ(all.peakHbmBlocks, 16u);
}

TEST(SimulatorWindow, ReadOutsideTheWindowIsAnError) {
  Workload w = windowWorkload();
  w.decodeSteps = 2;
  Problem p = unwrap(Problem::create(tinySystem(1e6), w));
  TraceHeader h{2, 1, 8, 2};
  // Step 0 reads token 3 of layer 0 (window [4, 8)).
  std::vector<std::vector<std::vector<uint32_t>>> sets = {{{3}, {0}},
                                                          {{5}, {0}}};
  auto tr = unwrap(MemoryTrace::fromFullSets(h, sets));
  auto pol = createAllDramPolicy();
  auto r = simulate(*tr, p, *pol);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(errorToString(r.takeError())
                .find("token 3 is outside layer 0's 4-token window"),
            std::string::npos);
  // A token kept in the read set after it left the window.
  sets = {{{4}, {0}}, {{4}, {0}}};
  auto tr2 = unwrap(MemoryTrace::fromFullSets(h, sets));
  auto r2 = simulate(*tr2, p, *pol);
  ASSERT_FALSE(bool(r2));
  EXPECT_NE(errorToString(r2.takeError()).find("left layer 0's 4-token window"),
            std::string::npos);
}

TEST(SimulatorWindow, DeadPromptBlockIsDroppedBeforeDecoding) {
  Problem p = unwrap(Problem::create(tinySystem(1e6), windowWorkload()));
  // Layer 0's blocks 0-1 (tokens 0-3) precede the window at step 0: listed
  // for HBM, they are dropped at no cost and hold no slot.
  ListPolicy pol({0, 1, 2});
  auto src = unwrap(makeGenerator(windowParams()));
  SimMetrics m = unwrap(simulate(*src, p.withCapacityBlocks(1), pol));
  EXPECT_EQ(m.peakHbmBlocks, 1u);
  // Block 2 (tokens 4-5) dies at step 2; nothing else enters HBM.
  std::vector<uint64_t> occupancy;
  SimOptions o;
  o.onStep = [&](const StepResult &r) { occupancy.push_back(r.hbmBlocks); };
  auto src2 = unwrap(makeGenerator(windowParams()));
  unwrap(simulate(*src2, p.withCapacityBlocks(1), pol, o));
  ASSERT_EQ(occupancy.size(), 16u);
  EXPECT_EQ(occupancy[0], 1u);                 // step 0, layer 0
  EXPECT_EQ(occupancy[3], 1u);                 // step 1, layer 1
  EXPECT_EQ(occupancy[4], 0u);                 // step 2, layer 0: dead
  // A promotion of a dead block is an error.
  class PromoteDead : public ListPolicy {
  public:
    PromoteDead() : ListPolicy({}) {}
    llvm::Error step(const SimContext &ctx, const StepInfo &info,
                     StepActions &act) override {
      act.newBlockInHbm = false;
      if (info.step == 3 && info.layer == 0)
        act.promote.push_back(2);
      return llvm::Error::success();
    }
  } bad;
  auto src3 = unwrap(makeGenerator(windowParams()));
  auto r = simulate(*src3, p, bad);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(errorToString(r.takeError()).find("block 2 does not exist"),
            std::string::npos);
}
