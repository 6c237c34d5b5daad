//===- BlockAccessesTest.cpp - The trace index against a direct build -----===//
//
// BlockAccesses::build against the index built the straightforward way (a
// list per block, every record's removed then added tokens appended in
// record order) on seed-like traces of 1-16-token blocks, one or two
// sequences, local layers, and a shape that takes the two-pass build (more
// than 2^16 blocks per (layer, sequence)): the same events per block in the
// same order, the same per-step access counts.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/TraceGenerators.h"

#include "SolverTestUtil.h"

#include "gtest/gtest.h"

using namespace kvopt;
using namespace kvopt::solver;

namespace {

struct Case {
  uint32_t layers, batch, prompt, decode, tokensPerBlock;
  double sparsity;
  uint32_t oddLayerWindow;
};

void checkSameIndex(const Case &c) {
  SCOPED_TRACE("layers " + std::to_string(c.layers) + " batch " +
               std::to_string(c.batch) + " prompt " + std::to_string(c.prompt) +
               " tokens/block " + std::to_string(c.tokensPerBlock));
  Workload w = makePaperWorkload(c.prompt, c.decode);
  w.model.layers = c.layers;
  w.model.slidingWindow.assign(c.layers, 0);
  for (uint32_t l = 1; l < c.layers; l += 2)
    w.model.slidingWindow[l] = c.oddLayerWindow;
  w.batch = c.batch;
  w.tokensPerBlock = c.tokensPerBlock;
  GeneratorParams g = kvopt::testing::generatorFor(w, c.sparsity, 0.3, 5);
  auto trace = makeGenerator(g);
  ASSERT_TRUE(bool(trace)) << errorToString(trace.takeError());
  auto acc = BlockAccesses::build(**trace, w);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());

  // The reference: one list per block, filled record by record.
  const uint64_t K = w.blocksPerSeqLayer();
  const uint64_t N = uint64_t(c.batch) * c.layers * K;
  std::vector<std::vector<uint32_t>> rows(N);
  std::vector<uint64_t> perStep(c.decode, 0);
  std::vector<uint64_t> readSize(uint64_t(c.batch) * c.layers, 0);
  uint64_t accesses = 0;
  auto src = (*trace)->reopen();
  ASSERT_TRUE(bool(src));
  TraceRecord rec;
  while (true) {
    auto more = (*src)->next(rec);
    ASSERT_TRUE(bool(more)) << errorToString(more.takeError());
    if (!*more)
      break;
    uint64_t chain = uint64_t(rec.seq) * c.layers + rec.layer;
    for (uint32_t t : rec.removed)
      rows[chain * K + t / c.tokensPerBlock].push_back(rec.step << 1);
    for (uint32_t t : rec.added)
      rows[chain * K + t / c.tokensPerBlock].push_back((rec.step << 1) | 1);
    readSize[chain] += rec.added.size();
    readSize[chain] -= rec.removed.size();
    perStep[rec.step] += readSize[chain];
    accesses += readSize[chain];
  }
  ASSERT_EQ(acc->totalBlocks(), N);
  uint64_t events = 0;
  for (uint64_t b = 0; b < N; ++b) {
    llvm::ArrayRef<uint32_t> got = acc->blockEvents(BlockId(b));
    ASSERT_EQ(std::vector<uint32_t>(got.begin(), got.end()), rows[b])
        << "block " << b;
    events += rows[b].size();
  }
  EXPECT_EQ(acc->totalEvents(), events);
  EXPECT_EQ(acc->accesses(), accesses);
  for (uint32_t i = 0; i < c.decode; ++i)
    EXPECT_EQ(acc->stepAccesses(i), perStep[i]) << "step " << i;
}

TEST(BlockAccesses, SameIndexAsDirectBuild) {
  checkSameIndex({3, 1, 700, 50, 1, 0.4, 0});
  checkSameIndex({2, 2, 513, 40, 1, 0.6, 0});
  checkSameIndex({2, 1, 1000, 64, 3, 0.5, 0});
  checkSameIndex({2, 2, 2049, 30, 16, 0.4, 0});
  checkSameIndex({4, 1, 600, 80, 4, 0.6, 100});
  // More than 256 blocks per bucket boundary and a last partial bucket.
  checkSameIndex({1, 1, 66000, 3, 1, 0.4, 0});
}

TEST(BlockAccesses, SameIndexAsDirectBuildTwoPass) {
  // 2^16 + blocks per (layer, sequence): the two-pass build.
  checkSameIndex({1, 1, 70000, 3, 1, 0.5, 0});
}

} // namespace
