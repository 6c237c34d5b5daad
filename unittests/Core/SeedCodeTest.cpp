//===- SeedCodeTest.cpp - The seed authors' code, quirk by quirk ----------===//
//
// Tiny traces worked by hand (the comments give the derivation, following
// their memory_status.py / placement.py / migration.py line by line), one per
// quirk, with the quirk on and off; CPython's random and set order against
// values printed by CPython 3.11; and the shared trace against the authors'
// own totals (skipped without ../shared/data).
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/SeedCode.h"
#include "kvopt/Core/TraceIO.h"

#include "../../lib/Core/SeedPySet.h"
#include "TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;
using namespace kvopt::test;

namespace {

constexpr double kE = 16384;

/// A paper-mode problem with the paper's bandwidths (4,900 / 500 / 450 /
/// 450 GB/s), 16 KiB entries, no weights, and max_KV_num = maxKv (so
/// maxKv - 1 entries usable).
Problem seedProblem(uint32_t layers, uint32_t prompt, uint32_t decode,
                    uint32_t maxKv) {
  // Paper mode reads the capacity as GiB: C = cap / 1e9 x 2^30.
  double c = (double(maxKv) + 0.5) * kE;
  MemorySystem m =
      tinySystem(c * 1e9 / 1073741824.0, 4.9e12, 5e11, 4.5e11, 4.5e11);
  Workload w = tinyWorkload(layers, prompt, decode, uint64_t(kE), 0.0);
  Problem p =
      unwrap(Problem::create(m, w, TimeModelMode::Paper, Hierarchy::Inclusive));
  EXPECT_EQ(p.capacityBlocks + 1, maxKv);
  return p;
}

std::unique_ptr<MemoryTrace>
trace(uint32_t layers, uint32_t prompt,
      const std::vector<std::vector<std::vector<uint32_t>>> &sets) {
  TraceHeader h;
  h.layers = layers;
  h.promptLen = prompt;
  h.decodeSteps = uint32_t(sets.size());
  return unwrap(MemoryTrace::fromFullSets(h, sets));
}

/// Their calculate_step_time with no weights (ns, GB/s = B/ns).
double stepNs(double reads, double hits, double beta, double mw, double mr) {
  const double bH = 4900, bR = 450, bW = 450, bI = 500;
  const double best = bH / (bH + std::min(bR, bI));
  double dR = reads * kE, dW = kE;
  double alpha = dR > 0 ? std::min(best, hits * kE / dR) : 0.0;
  double tH = (alpha * dR + beta * dW + mw) / bH;
  double tX = std::max({dW / bW, mr / bR, (mr + dW) / bI}) +
              ((1 - alpha) * dR + mr) / std::min(bR, bI);
  return std::max(tH, tX);
}

SeedCodeResult run(const TraceSource &t, const Problem &p, SeedPolicy policy,
                   SeedQuirks q = {}) {
  SeedCodeConfig c;
  c.policy = policy;
  c.quirks = q;
  return unwrap(simulateSeedCode(t, p, c));
}

// One layer, prompt 0..3, max_KV_num 4 (3 usable). Reads: n=4 {0,1,2,3},
// n=5 {0,1,2,3,4}.
//  init (first future read, tokens <= N_pre): 0, 1, 2 fit; 3 does not.
//  n=4: hits 3; beta: 4 does not fit (0). Misses [3]: add fails, the sweep
//       evicts 0, 1, 2 (all of the layer below n), 3 goes in. HBM {3}.
//  n=5: hits 1 (3); beta: 5 fits (1). Misses [0, 1, 2, 4]: 0 fits; 1 does
//       not: sweep evicts 0 and 3, 1 goes in; 2 fits; 4 does not: sweep
//       evicts 1 and 2, 4 goes in. HBM {5, 4}. 0, 1 and 2 were promoted and
//       swept out in the same step and are still charged.
//  Promotions 1 + 4, evictions 3 + 2 + 2; each promotion charged 16 KiB of
//  HBM write and no external read.
TEST(SeedCode, ReactiveWholeLayerEvictionAndPromotionPricing) {
  auto t = trace(1, 4, {{{0, 1, 2, 3}}, {{0, 1, 2, 3, 4}}});
  Problem p = seedProblem(1, 4, 2, 4);
  SeedCodeResult r = run(*t, p, SeedPolicy::Reactive);
  EXPECT_EQ(r.promotions, 5u);
  EXPECT_EQ(r.evictions, 7u);
  EXPECT_EQ(r.hits, 4u);
  EXPECT_DOUBLE_EQ(r.hbmMigrationBytes, 5 * kE);
  EXPECT_DOUBLE_EQ(r.extMigrationBytes, 0);
  EXPECT_NEAR(r.totalNs, stepNs(4, 3, 0, kE, 0) + stepNs(5, 1, 1, 4 * kE, 0),
              1e-9);

  // Without the promotion-pricing quirk each promotion also pays its
  // external read (the equations' migration term).
  SeedQuirks noPricing;
  noPricing.promotionPricing = false;
  SeedCodeResult rp = run(*t, p, SeedPolicy::Reactive, noPricing);
  EXPECT_DOUBLE_EQ(rp.extMigrationBytes, 5 * kE);
  EXPECT_NEAR(rp.totalNs,
              stepNs(4, 3, 0, kE, kE) + stepNs(5, 1, 1, 4 * kE, 4 * kE), 1e-9);
  EXPECT_GT(rp.totalNs, r.totalNs);

  // Without whole-layer eviction (the loop with a break): n=4 evicts 0 only
  // (HBM {1,2,3}); n=5: hits 3, 5 does not fit, misses [0, 4]: 0 evicts 1,
  // 4 evicts 0 (just promoted, the lowest). 3 promotions, 3 evictions.
  SeedQuirks noSweep;
  noSweep.wholeLayerEviction = false;
  SeedCodeResult rs = run(*t, p, SeedPolicy::Reactive, noSweep);
  EXPECT_EQ(rs.promotions, 3u);
  EXPECT_EQ(rs.evictions, 3u);
  EXPECT_EQ(rs.hits, 6u);
  EXPECT_NEAR(rs.totalNs, stepNs(4, 3, 0, kE, 0) + stepNs(5, 3, 0, 2 * kE, 0),
              1e-9);
}

// Two layers, prompt 0..31 (pages 0 and 1), max_KV_num 40 (39 usable).
// Reads: n=32 {} {}, n=33 {15, 20} {5}.
//  init (HBMInitPaged): page 0 fits (0 + 32 <= 40) but only tokens 0..14
//       are placed (the off-by-one), both layers: 30 entries. Page 1: 62 > 40.
//  n=32 l0: beta 0 (10 left < a page of 32). Next step reads 15 and 20:
//       15's page 0 does not fit and no lower page exists: no transfer.
//       20's page 1: evict the lowest page with its first token on layer 0
//       (page 0, 30 entries), then move 16 tokens x 2 layers: 32 entries,
//       16 x 2 x 16 KiB of HBM write; 20 is not read at n=32, so no
//       external read (the conditional charge).
//  n=32 l1: 5's page 0 does not fit, nothing to evict.
//  n=33 (last step, no migration): hits 20 on l0.
TEST(SeedCode, PageGeometryEvictionAndConditionalCharges) {
  auto t = trace(2, 32, {{{}, {}}, {{15, 20}, {5}}});
  Problem p = seedProblem(2, 32, 2, 40);
  SeedCodeResult r = run(*t, p, SeedPolicy::Page);
  EXPECT_EQ(r.promotions, 32u);
  EXPECT_EQ(r.evictions, 30u);
  EXPECT_EQ(r.hits, 1u);
  EXPECT_DOUBLE_EQ(r.hbmMigrationBytes, 32 * kE);
  EXPECT_DOUBLE_EQ(r.extMigrationBytes, 0);
  EXPECT_NEAR(r.totalNs,
              stepNs(0, 0, 0, 32 * kE, 0) + stepNs(0, 0, 0, 0, 0) +
                  stepNs(2, 1, 0, 0, 0) + stepNs(1, 0, 0, 0, 0),
              1e-9);

  // Without conditional charges the transfer also pays its external read.
  SeedQuirks always;
  always.conditionalCharges = false;
  SeedCodeResult ra = run(*t, p, SeedPolicy::Page, always);
  EXPECT_DOUBLE_EQ(ra.extMigrationBytes, 32 * kE);
  EXPECT_GT(ra.totalNs, r.totalNs);

  // Without the page geometry, pages are 16 tokens of one layer: n=32 l0
  // evicts page 0 of layer 0 (15 entries) and moves page 1 of layer 0 (16
  // entries, 256 KiB); layer 1 keeps 0..14, so n=33 hits 20 and 5.
  SeedQuirks perLayer;
  perLayer.pageGeometry = false;
  SeedCodeResult rl = run(*t, p, SeedPolicy::Page, perLayer);
  EXPECT_EQ(rl.promotions, 16u);
  EXPECT_EQ(rl.evictions, 15u);
  EXPECT_EQ(rl.hits, 2u);
  EXPECT_DOUBLE_EQ(rl.hbmMigrationBytes, 16 * kE);
}

// Static (HBMInit + PreferHBM): one layer, prompt 0..2, max_KV_num 3 (2
// usable): 0 and 1 placed; n=3 reads {0, 2}: hit 0, 3 does not fit.
TEST(SeedCode, StaticIsHbmInitAndPreferHbm) {
  auto t = trace(1, 3, {{{0, 2}}});
  Problem p = seedProblem(1, 3, 1, 3);
  SeedCodeResult r = run(*t, p, SeedPolicy::Static);
  EXPECT_EQ(r.hits, 1u);
  EXPECT_NEAR(r.totalNs, stepNs(2, 1, 0, 0, 0), 1e-9);
  SeedCodeResult u = run(*t, p, SeedPolicy::Unlimited);
  EXPECT_EQ(u.hits, 2u);
  EXPECT_NEAR(u.totalNs, stepNs(2, 2, 1, 0, 0), 1e-9);
}

// SA-guided (TokenLevelBestRatioInit + LookAheadOnePlacement + SAMigration)
// with W = 1, topk 1.0: one layer, prompt 0..3, max_KV_num 3 (2 usable).
// Reads: n=4 {0, 1, 2}, n=5 {0, 1, 2}.
//  init: 0 and 1 fit; 2 does not.
//  n=4: hits 2; beta: 4 is not read at n=5 (0). Migration: candidates are
//       read now, read at n+1, not in HBM: [2]. Adding 2 needs a victim not
//       read within the window: none (0 and 1 are), so nothing moves.
//  n=5: the last step (no window): hits 2.
TEST(SeedCode, LookaheadKeepsWindowReads) {
  auto t = trace(1, 4, {{{0, 1, 2}}, {{0, 1, 2}}});
  Problem p = seedProblem(1, 4, 2, 3);
  SeedCodeConfig c;
  c.policy = SeedPolicy::Lookahead;
  c.window = 1;
  c.topk = 1.0;
  SeedCodeResult r = unwrap(simulateSeedCode(*t, p, c));
  EXPECT_EQ(r.promotions, 0u);
  EXPECT_EQ(r.hits, 4u);
  EXPECT_NEAR(r.totalNs, 2 * stepNs(3, 2, 0, 0, 0), 1e-9);
}

// SA-guided, W = 1, topk 1.0: one layer, prompt 0..3, max_KV_num 3 (2
// usable). Reads: n=4 {0, 1}, n=5 {0, 2}, n=6 {0, 2}.
//  init: 0, 1 fit; 2 (first read at n=5) does not.
//  n=4: hits 2; 4 is not read at n=5 (beta 0); the only token read now and
//       next is 0, already in HBM: nothing moves.
//  n=5: hits 1; candidates [2] (read now and at n=6, in DRAM), top_k 1:
//       HBM is full, the first entry of the layer's set not read within the
//       window is 1 (0 is read at n=6): evict 1, promote 2, charged 16 KiB
//       of HBM write only (promotion pricing).
//  n=6: the last step: hits 2.
TEST(SeedCode, LookaheadPromotionPricing) {
  auto t = trace(1, 4, {{{0, 1}}, {{0, 2}}, {{0, 2}}});
  Problem p = seedProblem(1, 4, 3, 3);
  SeedCodeConfig c;
  c.policy = SeedPolicy::Lookahead;
  c.window = 1;
  c.topk = 1.0;
  SeedCodeResult r = unwrap(simulateSeedCode(*t, p, c));
  EXPECT_EQ(r.hits, 5u);
  EXPECT_EQ(r.promotions, 1u);
  EXPECT_EQ(r.evictions, 1u);
  EXPECT_DOUBLE_EQ(r.hbmMigrationBytes, kE);
  EXPECT_DOUBLE_EQ(r.extMigrationBytes, 0);
  EXPECT_NEAR(r.totalNs,
              stepNs(2, 2, 0, 0, 0) + stepNs(2, 1, 0, kE, 0) +
                  stepNs(2, 2, 0, 0, 0),
              1e-9);
  c.quirks.promotionPricing = false;
  SeedCodeResult rp = unwrap(simulateSeedCode(*t, p, c));
  EXPECT_DOUBLE_EQ(rp.extMigrationBytes, kE);
  EXPECT_NEAR(rp.totalNs,
              stepNs(2, 2, 0, 0, 0) + stepNs(2, 1, 0, kE, kE) +
                  stepNs(2, 2, 0, 0, 0),
              1e-9);
}

// Their parallel SA evaluates a point as the sum over contiguous parts,
// each a fresh simulation starting at its first step (N_pre = its first n).
TEST(SeedCode, AnnealSplitsSumFreshParts) {
  auto t = trace(1, 4, {{{0, 1}}, {{0, 2}}, {{0, 2}}, {{1, 2, 3}}});
  Problem p = seedProblem(1, 4, 4, 3);
  SeedAnnealParams ap;
  ap.iterations = 0;
  ap.splits = 2;
  SeedAnnealResult a = unwrap(annealSeedCode(*t, p, ap));
  SeedCodeConfig c;
  c.policy = SeedPolicy::Lookahead;
  c.firstStep = 0;
  c.lastStep = 1;
  double first = unwrap(simulateSeedCode(*t, p, c)).totalNs;
  c.firstStep = 2;
  c.lastStep = 3;
  SeedCodeResult second = unwrap(simulateSeedCode(*t, p, c));
  EXPECT_EQ(second.steps, 2u);
  EXPECT_DOUBLE_EQ(a.bestNs, first + second.totalNs);
  // The second part starts afresh: its initial placement holds the tokens
  // <= 6 that steps 6 and 7 read (1, 2, 3 do not all fit: 2 usable).
  EXPECT_EQ(a.history.size(), 1u);
}

TEST(SeedCode, ReactiveInfiniteLoopIsAnError) {
  // Two layers, max_KV_num 3: the init fills HBM with layer 0's entries;
  // layer 1 then misses with nothing of its own to evict, where their
  // NormalMigration spins forever.
  auto t = trace(2, 2, {{{0, 1}, {0}}});
  Problem p = seedProblem(2, 2, 1, 3);
  SeedCodeConfig c;
  c.policy = SeedPolicy::Reactive;
  std::string msg = errorOf(simulateSeedCode(*t, p, c));
  EXPECT_NE(msg.find("loops forever"), std::string::npos) << msg;
}

TEST(SeedCode, RejectsNonPaperProblemsAndBatches) {
  auto t = trace(1, 4, {{{0}}});
  MemorySystem m = tinySystem(1e9);
  Problem std = unwrap(Problem::create(m, tinyWorkload(1, 4, 1)));
  SeedCodeConfig c;
  EXPECT_NE(errorOf(simulateSeedCode(*t, std, c)).find("paper-mode"),
            std::string::npos);
  EXPECT_NE(errorOf(parseSeedPolicy("belady")).find("unknown policy"),
            std::string::npos);
  EXPECT_NE(errorOf(SeedQuirks::withoutList("page-size")).find("page-size"),
            std::string::npos);
  SeedQuirks all = unwrap(SeedQuirks::withoutList("all"));
  EXPECT_FALSE(all.promotionPricing || all.wholeLayerEviction ||
               all.pageGeometry || all.conditionalCharges);
}

// Values printed by CPython 3.11: random.seed(1); random.random();
// random.randint(-3, 3); random.uniform(-0.3, 0.3).
TEST(SeedCode, PyRandomMatchesCPython) {
  PyRandom r(1);
  EXPECT_EQ(r.random(), 0.13436424411240122);
  EXPECT_EQ(r.randint(-3, 3), 3);
  EXPECT_EQ(r.uniform(-0.3, 0.3), 0.18135903670091008);
  PyRandom z(0);
  std::vector<int64_t> got;
  for (int i = 0; i < 10; ++i)
    got.push_back(z.randint(-3, 3));
  EXPECT_EQ(got, (std::vector<int64_t>{3, 0, 3, 0, -3, -1, 1, 0, 0, 3}));
  PyRandom big(12345678901ull);
  EXPECT_EQ(big.random(), 0.9460118159397316);
}

// list(s) in CPython 3.11 after: add 0..39, discard 0, 3, ..., 39, add 100,
// 64, 1000, 129, 3, 6 (dummies reused, wrap-around slots).
TEST(SeedCode, PySetOrderMatchesCPython) {
  PySetOrder s;
  for (int k = 0; k < 40; ++k)
    s.add(k);
  for (int k = 0; k < 40; k += 3)
    s.discard(k);
  for (int k : {100, 64, 1000, 129, 3, 6})
    s.add(k);
  EXPECT_EQ(s.order(),
            (std::vector<int64_t>{1,  2,   4,  5,  7,  8,  10, 11, 13,  14,  16,
                                  17, 129, 19, 20, 22, 23, 3,  25, 26,  28,  29,
                                  31, 32,  34, 35, 37, 38, 6,  64, 100, 1000}));
}

// The shared trace against the authors' simulator (their README's table).
TEST(SeedCode, SharedTraceMatchesTheAuthors) {
  std::string xz = sharedData("seed-sim/small_p1024_d256_s60_seed1.csv.xz");
  if (!llvm::sys::fs::exists(xz))
    GTEST_SKIP() << "no " << xz;
  auto xzTool = llvm::sys::findProgramByName("xz");
  if (!xzTool)
    GTEST_SKIP() << "no xz";
  llvm::SmallString<128> csv;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("seed", "csv", csv));
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(csv), std::nullopt};
  ASSERT_EQ(llvm::sys::ExecuteAndWait(*xzTool, {"xz", "-dc", xz}, std::nullopt,
                                      redirects),
            0);
  auto t = unwrap(openTrace(std::string(csv)));
  MemorySystem m = unwrap(parseMemorySystemJSON(
      R"({"name": "paper-small", "tiers": [
  {"name": "hbm", "kind": "HBM", "capacity_gb": 15.15116119384765625, "read_gbps": 4900, "write_gbps": 4900},
  {"name": "dram", "kind": "DRAM", "capacity_gb": 480, "read_gbps": 500, "write_gbps": 500}],
  "links": [{"from": "dram", "to": "hbm", "forward_gbps": 450, "backward_gbps": 450}]})",
      "paper-small-hbm.json"));
  Workload w = makePaperWorkload(1024, 256);
  Problem p =
      unwrap(Problem::create(m, w, TimeModelMode::Paper, Hierarchy::Inclusive));
  struct Row {
    SeedPolicy policy;
    double authors;
  } rows[] = {{SeedPolicy::Static, 261262662.62},
              {SeedPolicy::Unlimited, 261262662.62},
              {SeedPolicy::Reactive, 264482587.47},
              {SeedPolicy::Page, 263190780.03},
              {SeedPolicy::Lookahead, 261272550.97}};
  for (const Row &row : rows) {
    SeedCodeResult r = run(*t, p, row.policy);
    // Within 1% is the target; the replay agrees to the printed cent.
    EXPECT_NEAR(r.totalNs, row.authors, 0.01 * row.authors);
    EXPECT_NEAR(r.totalNs, row.authors, 0.006) << seedPolicyName(row.policy);
  }
  SeedAnnealParams ap;
  ap.seed = 1;
  SeedAnnealResult a = unwrap(annealSeedCode(*t, p, ap));
  EXPECT_EQ(a.history.size(), 41u);
  EXPECT_NEAR(a.bestNs, 261262662.62, 0.006);
  EXPECT_EQ(a.bestWindow, 5u);
  EXPECT_DOUBLE_EQ(a.bestTopk, 0.1);
  llvm::sys::fs::remove(csv);
}

} // namespace
