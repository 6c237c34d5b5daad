//===- TraceGeneratorTest.cpp - Seeded synthetic traces
//--------------------===//
#include "TestUtil.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Core/TraceIO.h"

#include <cmath>

using namespace kvopt;
using namespace kvopt::test;

namespace {
GeneratorParams small(GeneratorKind k) {
  GeneratorParams g;
  g.kind = k;
  g.layers = 2;
  g.batch = 2;
  g.promptLen = 500;
  g.decodeSteps = 60;
  g.seed = 7;
  return g;
}
std::string encode(const GeneratorParams &g) {
  auto src = unwrap(makeGenerator(g));
  return unwrap(encodeBinaryTrace(*src));
}
} // namespace

TEST(Generators, DeterministicAndSeedSensitive) {
  for (GeneratorKind k :
       {GeneratorKind::SeedLike, GeneratorKind::Zipf,
        GeneratorKind::SlidingWindow, GeneratorKind::Uniform}) {
    GeneratorParams g = small(k);
    std::string a = encode(g), b = encode(g);
    EXPECT_EQ(a, b) << generatorKindName(k);
    g.seed = 8;
    if (k != GeneratorKind::SlidingWindow) {
      EXPECT_NE(a, encode(g)) << generatorKindName(k);
    }
  }
}

TEST(Generators, OutputIsAValidTrace) {
  // Encoding validates every delta (range, order, membership) on re-read.
  for (GeneratorKind k :
       {GeneratorKind::SeedLike, GeneratorKind::Zipf,
        GeneratorKind::SlidingWindow, GeneratorKind::Uniform}) {
    std::string bin = encode(small(k));
    auto r = unwrap(openBinaryTraceBuffer(bin, "gen"));
    TraceStats st = unwrap(computeTraceStats(*r));
    EXPECT_EQ(st.records, 2u * 2u * 60u);
  }
}

TEST(Generators, SeedLikeReadSetSizes) {
  GeneratorParams g = small(GeneratorKind::SeedLike);
  g.sparsity = 0.6;
  auto src = unwrap(makeGenerator(g));
  std::vector<uint64_t> size(4, 0);
  TraceRecord r;
  while (unwrap(src->next(r))) {
    uint64_t &s = size[r.seq * 2 + r.layer];
    s = s + r.added.size() - r.removed.size();
    uint32_t n = 500 + r.step;
    // k_n = round(0.4 (n - 1)), at most 10% swapped per step.
    EXPECT_EQ(s, uint64_t(std::llround(0.4 * (n - 1))));
    if (r.step) {
      EXPECT_LE(r.removed.size(), uint64_t(0.1 * s) + 1);
    }
    // The window excludes the oldest 3% (tf = 0.95).
    for (uint32_t t : r.added)
      EXPECT_GE(t, uint32_t(std::floor(0.03 * (n - 1))));
  }
}

TEST(Generators, VariationLevelsOrderChurn) {
  uint64_t churn[3];
  const char *levels[3] = {"low", "real", "high"};
  for (int i = 0; i < 3; ++i) {
    GeneratorParams g = small(GeneratorKind::SeedLike);
    g.swapFraction = unwrap(variationSwapFraction(levels[i]));
    TraceStats st = unwrap(computeTraceStats(*unwrap(makeGenerator(g))));
    churn[i] = st.removed;
  }
  EXPECT_LT(churn[0], churn[1]);
  EXPECT_LT(churn[1], churn[2]);
  std::string msg = errorOf(variationSwapFraction("extreme"));
  EXPECT_NE(msg.find("unknown variation level"), std::string::npos);
}

TEST(Generators, SlidingWindowExactSets) {
  GeneratorParams g = small(GeneratorKind::SlidingWindow);
  g.layers = 1;
  g.batch = 1;
  g.promptLen = 10;
  g.decodeSteps = 5;
  g.window = 4;
  g.sinks = 2;
  auto src = unwrap(makeGenerator(g));
  TraceRecord r;
  ASSERT_TRUE(unwrap(src->next(r)));
  EXPECT_EQ(r.added.vec(), (std::vector<uint32_t>{0, 1, 6, 7, 8, 9}));
  ASSERT_TRUE(unwrap(src->next(r)));
  EXPECT_EQ(r.added.vec(), (std::vector<uint32_t>{10}));
  EXPECT_EQ(r.removed.vec(), (std::vector<uint32_t>{6}));
}

TEST(Generators, ZipfAndUniformSizes) {
  for (GeneratorKind k : {GeneratorKind::Zipf, GeneratorKind::Uniform}) {
    GeneratorParams g = small(k);
    g.sparsity = 0.75;
    auto src = unwrap(makeGenerator(g));
    std::vector<uint64_t> size(4, 0);
    TraceRecord r;
    while (unwrap(src->next(r))) {
      uint64_t &s = size[r.seq * 2 + r.layer];
      s = s + r.added.size() - r.removed.size();
      EXPECT_EQ(s, uint64_t(std::llround(0.25 * (500 + r.step))));
    }
  }
}

TEST(Generators, BadParameters) {
  GeneratorParams g;
  g.sparsity = 1.0;
  std::string msg = errorOf(makeGenerator(g));
  EXPECT_NE(msg.find("field 'sparsity'"), std::string::npos) << msg;
  g = GeneratorParams();
  g.layers = 0;
  msg = errorOf(makeGenerator(g));
  EXPECT_NE(msg.find("field 'layers'"), std::string::npos) << msg;
  msg = errorOf(parseGeneratorKind("gauss"));
  EXPECT_NE(msg.find("unknown generator 'gauss'"), std::string::npos) << msg;
}

// The seed-like generator's output is pinned: speed-ups of the generator
// must draw the same numbers in the same order (every result downstream,
// bounds and schedules included, is a function of these records). The
// value is an FNV-1a hash of the binary encoding, taken from the generator
// as of commit 81ea2fd; several shapes so both the rejection sampling and
// the enumeration fallback of pickNonMembers are covered.
TEST(Generators, SeedLikeOutputIsPinned) {
  auto fnv = [](const std::string &s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ULL;
    return h;
  };
  uint64_t all = 0;
  for (double sparsity : {0.05, 0.4, 0.8})
    for (uint32_t prompt : {64u, 2048u}) {
      GeneratorParams g = small(GeneratorKind::SeedLike);
      g.promptLen = prompt;
      g.sparsity = sparsity;
      g.swapFraction = 0.3;
      all = all * 31 + fnv(encode(g));
    }
  EXPECT_EQ(all, 9720502318822969455ULL) << "got " << all;
}

// The other generators that draw through pickNonMembers (uniform, zipf)
// are pinned the same way, from the generator before its rejection loop
// was made branch-free (main at 8c11908).
TEST(Generators, IndexedOutputIsPinned) {
  auto fnv = [](const std::string &s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ULL;
    return h;
  };
  uint64_t all = 0;
  for (GeneratorKind kind : {GeneratorKind::Uniform, GeneratorKind::Zipf})
    for (double sparsity : {0.05, 0.5, 0.9})
      for (uint32_t prompt : {64u, 2048u}) {
        GeneratorParams g = small(kind);
        g.promptLen = prompt;
        g.sparsity = sparsity;
        g.churn = 0.2;
        all = all * 31 + fnv(encode(g));
      }
  EXPECT_EQ(all, 12215575693113369078ULL) << "got " << all;
}
