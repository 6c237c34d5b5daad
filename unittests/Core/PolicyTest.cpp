//===- PolicyTest.cpp - Every baseline on a trace with a known answer ----===//
//
// One layer, prompt 4, decode 3, HBM for 2 entries of 10 B, weights 100 B
// per step; HBM 100 B/s, DRAM 10 B/s, H2D 5 B/s, D2H 4 B/s (exclusive).
//   step 0 (n=4) reads {0,1,2}; step 1 (n=5) {2,3,4}; step 2 (n=6) {2,3,5}
// The expected hits and times are derived by hand in the comments.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "kvopt/Core/Policies.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/TraceIO.h"

using namespace kvopt;
using namespace kvopt::test;

namespace {
const char *kTrace = R"(kvtrace 1 layers=1 batch=1 prompt=4 decode=3
0 0 0 + 0 1 2 -
1 0 0 + 3 4 - 0 1
2 0 0 + 5 - 4
)";

SimMetrics run(Policy &policy) {
  Problem p = unwrap(Problem::create(tinySystem(20), tinyWorkload(1, 4, 3)));
  EXPECT_EQ(p.capacityBlocks, 2u);
  auto src = unwrap(openTextTraceBuffer(kTrace, "known"));
  return unwrap(simulate(*src, p, policy));
}
} // namespace

TEST(Policies, Unlimited) {
  // Every step: 3 hits, HBM (100 + 30)/100 + 10/100 = 1.4 s.
  SimMetrics m = run(*createUnlimitedPolicy());
  EXPECT_EQ(m.hits, 9u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 4.2);
  EXPECT_EQ(m.peakHbmBlocks, 7u); // 4 prompt + 3 new blocks
}

TEST(Policies, AllDram) {
  // Every step: H2D 30/5 = 6 s.
  SimMetrics m = run(*createAllDramPolicy());
  EXPECT_EQ(m.hits, 0u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 18);
}

TEST(Policies, StaticFirstFit) {
  // HBM {0,1}; step 0: 2 hits, D2H 10/4 = 2.5 s; steps 1, 2: no hit,
  // H2D 30/5 = 6 s each.
  SimMetrics m = run(*createStaticPolicy());
  EXPECT_EQ(m.hits, 2u);
  EXPECT_EQ(m.reads, 9u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 14.5);
  EXPECT_EQ(m.appendsDram, 3u);
  EXPECT_EQ(m.promotedBlocks, 0u);
}

TEST(Policies, ReactiveLru) {
  // Step 0: miss on 2 but 0 and 1 are being read: nothing moves (2.5 s).
  // Step 1: 0, 1 go cold; misses 2, 3, 4: promote 2 and 3 evicting 0 and 1
  // (H2D (30 + 20)/5 = 10 s). Step 2: hits 2, 3 (2.5 s).
  SimMetrics m = run(*createReactiveLruPolicy());
  EXPECT_EQ(m.hits, 4u);
  EXPECT_EQ(m.promotedBlocks, 2u);
  EXPECT_EQ(m.demotedBlocks, 2u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 15.0);
}

TEST(Policies, SeedReactiveSweepsTheLayer) {
  // First-use init {0,1}. Every step the one miss finds HBM full, so every
  // HBM block of the layer is evicted, the miss promoted and the new block
  // placed: 2 demotions, 1 promotion, 1 HBM append per step, each bound by
  // D2H (20 B / 4 B/s = 5 s); hits stay at 2 per step.
  SimMetrics m = run(*createSeedReactivePolicy());
  EXPECT_EQ(m.hits, 6u);
  EXPECT_EQ(m.promotedBlocks, 3u);
  EXPECT_EQ(m.demotedBlocks, 6u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 15.0);
}

TEST(Policies, PageOracle) {
  // Step 0: nothing can be evicted (2.5 s). Step 1: knowing step 2 reads
  // {2,3,5}, the new block 5 goes to HBM evicting 0, and 3 is promoted
  // evicting 1 (H2D (30 + 10)/5 = 8 s). Step 2: hits 3, 5 (2.5 s).
  SimMetrics m = run(*createPageOraclePolicy());
  EXPECT_EQ(m.hits, 4u);
  EXPECT_EQ(m.promotedBlocks, 1u);
  EXPECT_EQ(m.demotedBlocks, 2u);
  EXPECT_EQ(m.appendsHbm, 1u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 13.0);
}

TEST(Policies, Belady) {
  // Step 0: 0 and 1 are never read again: the new block 4 (read at step 1)
  // and 3 replace them (D2H 20/4 = 5 s). Step 1: hits 3, 4; 4 is never
  // read again and makes room for 5 (2.5 s). Step 2: hits 3, 5 (2.5 s).
  SimMetrics m = run(*createBeladyPolicy());
  EXPECT_EQ(m.hits, 6u);
  EXPECT_EQ(m.promotedBlocks, 1u);
  EXPECT_EQ(m.demotedBlocks, 3u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 10.0);
}

TEST(Policies, LookaheadWindowProtectsSoonReadBlocks) {
  auto la = createLookaheadPolicy(2, 1.0);
  SimMetrics m = run(*la);
  // Never worse than Static here, and it moves data.
  EXPECT_LE(m.totalSeconds, 14.5);
  EXPECT_GE(m.hits, 2u);
}

TEST(Policies, StaticSplitInterleaves) {
  // f = min(capacity share 2/7, 100/105) = 2/7: block k is in HBM iff
  // floor((k+1) f) > floor(k f), i.e. blocks 3 and 6. Step 0: no hit, H2D
  // 30/5 = 6 s; steps 1, 2: one hit (token 3), H2D 20/5 = 4 s each.
  SimMetrics m = run(*createStaticSplitPolicy());
  EXPECT_EQ(m.hits, 2u);
  EXPECT_EQ(m.peakHbmBlocks, 2u);
  EXPECT_EQ(m.appendsHbm, 1u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 14.0);
}

TEST(Policies, RegistryNamesAndErrors) {
  for (const std::string &n : listPolicyNames())
    EXPECT_TRUE(bool(createPolicyByName(n))) << n;
  std::string msg = errorOf(createPolicyByName("lru2"));
  EXPECT_NE(msg.find("unknown policy 'lru2'"), std::string::npos) << msg;
  msg = errorOf(createPolicyByName("lookahead", 0, 0.5));
  EXPECT_NE(msg.find("field 'window'"), std::string::npos) << msg;
  msg = errorOf(createPolicyByName("lookahead", 3, 1.5));
  EXPECT_NE(msg.find("field 'fraction'"), std::string::npos) << msg;
}

TEST(Policies, BatchSharesOneHbm) {
  // Two sequences, HBM for 3 blocks: Static fills token-major across the
  // batch (seq 0 token 0, seq 1 token 0, seq 0 token 1). Step 0: seq 0
  // reads {0,1} (2 hits), seq 1 reads {2,3}; both new tokens go to DRAM:
  // D2H 20/4 = 5 s. Step 1: seq 0 reads {1} (hit), seq 1 reads {2,3,4}:
  // H2D 30/5 = 6 s.
  const char *trace = R"(kvtrace 1 layers=1 batch=2 prompt=4 decode=2
0 0 0 + 0 1 -
0 0 1 + 2 3 -
1 0 0 + - 0
1 0 1 + 4 -
)";
  Problem p = unwrap(Problem::create(
      tinySystem(30), tinyWorkload(1, 4, 2, 10, 100, /*batch=*/2)));
  auto src = unwrap(openTextTraceBuffer(trace, "batch"));
  auto pol = createStaticPolicy();
  SimMetrics m = unwrap(simulate(*src, p, *pol));
  EXPECT_EQ(m.reads, 8u);
  EXPECT_EQ(m.hits, 3u);
  EXPECT_EQ(m.decodedTokens, 4u);
  EXPECT_DOUBLE_EQ(m.totalSeconds, 11.0);
  EXPECT_DOUBLE_EQ(m.tokensPerSecond, 4.0 / 11.0);
}

TEST(Policies, ReactiveCapturesASlidingWindow) {
  // A 64-token window + 4 sinks fits in HBM: after warm-up Reactive hits
  // everything but the newest token of each step.
  GeneratorParams g;
  g.kind = GeneratorKind::SlidingWindow;
  g.layers = 2;
  g.promptLen = 256;
  g.decodeSteps = 100;
  g.window = 64;
  g.sinks = 4;
  Problem p =
      unwrap(Problem::create(tinySystem(10 * 200), tinyWorkload(2, 256, 100)));
  auto src = unwrap(makeGenerator(g));
  auto pol = createReactiveLruPolicy();
  SimMetrics m = unwrap(simulate(*src, p, *pol));
  EXPECT_GT(m.kvHitRate, 0.95);
  auto src2 = unwrap(makeGenerator(g));
  auto st = createStaticPolicy();
  SimMetrics s = unwrap(simulate(*src2, p, *st));
  EXPECT_LT(s.kvHitRate, 0.2); // Static holds the oldest prompt tokens
}
