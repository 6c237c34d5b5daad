//===- BalancedPolicyTest.cpp - The balanced oracle's decisions -----------===//
//
// The balanced oracle caches each block's stay end, sorts only the
// candidates its promotion loop can reach, skips the candidate scan when
// there is neither a free slot nor a victim, and finds the missing blocks by
// a scan of the chain instead of the residency's lists. Those are speed-ups
// only: this test runs the algorithm as it was written before them (a
// verbatim copy, ReferenceBalancedPolicy.h) next to the library's policy on
// mid-size seed-like traces and asks for the same recorded schedule, move
// for move, and the same time.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Solver/BalancedPolicy.h"
#include "ReferenceBalancedPolicy.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Simulator.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Solver/ResourceCosts.h"

#include "SolverTestUtil.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

struct Case {
  uint32_t layers, batch, prompt, decode, tokensPerBlock;
  double sparsity, capacityFraction;
  /// Sliding window of the odd layers in tokens (0: every layer global).
  uint32_t oddLayerWindow = 0;
};

llvm::Expected<SimMetrics> runRecorded(TraceSource &trace,
                                       const Problem &problem, Policy &pol,
                                       Schedule &out) {
  auto rec = createRecordingPolicy(pol, out);
  return simulate(trace, problem, *rec);
}

void checkSameDecisions(const Case &c) {
  SCOPED_TRACE("layers " + std::to_string(c.layers) + " batch " +
               std::to_string(c.batch) + " tokens/block " +
               std::to_string(c.tokensPerBlock) + " sparsity " +
               std::to_string(c.sparsity) + " capacity " +
               std::to_string(c.capacityFraction));
  auto mem = getHardwarePreset("gh200");
  ASSERT_TRUE(bool(mem)) << errorToString(mem.takeError());
  Workload w = makePaperWorkload(c.prompt, c.decode);
  w.model.layers = c.layers;
  w.model.slidingWindow.assign(c.layers, 0);
  for (uint32_t l = 1; l < c.layers; l += 2)
    w.model.slidingWindow[l] = c.oddLayerWindow;
  w.batch = c.batch;
  w.tokensPerBlock = c.tokensPerBlock;
  // Weights about a quarter of a step's KV reads, as at the seed's full
  // scale (at this prompt the model's own weights would leave no deficit).
  w.weightBytesPerLayerStepOverride =
      0.27 * (1 - c.sparsity) * c.prompt * double(w.entryBytes()) * c.batch;
  w.residentWeightBytesOverride = 0;
  auto p = Problem::create(*mem, w);
  ASSERT_TRUE(bool(p)) << errorToString(p.takeError());
  uint64_t all = uint64_t(c.layers) * c.batch * w.blocksPerSeqLayer();
  Problem problem =
      p->withCapacityBlocks(uint64_t(c.capacityFraction * double(all)));
  GeneratorParams g = kvopt::testing::generatorFor(w, c.sparsity, 0.1, 7);
  auto trace = makeGenerator(g);
  ASSERT_TRUE(bool(trace)) << errorToString(trace.takeError());
  auto acc = BlockAccesses::build(**trace, problem.work);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
  auto costs = ResourceCosts::fromModel(problem.model);
  ASSERT_TRUE(bool(costs)) << errorToString(costs.takeError());

  reference::ReferenceBalancedPolicy ref(*acc, *costs, BalancedOptions());
  auto lib = createBalancedPolicy(*acc, *costs);
  Schedule sRef, sLib;
  auto src1 = (*trace)->reopen();
  ASSERT_TRUE(bool(src1));
  auto mRef = runRecorded(**src1, problem, ref, sRef);
  ASSERT_TRUE(bool(mRef)) << errorToString(mRef.takeError());
  auto src2 = (*trace)->reopen();
  ASSERT_TRUE(bool(src2));
  auto mLib = runRecorded(**src2, problem, *lib, sLib);
  ASSERT_TRUE(bool(mLib)) << errorToString(mLib.takeError());

  // The case must exercise promotions and evictions, or it proves nothing.
  uint64_t moves = 0;
  for (uint64_t r = 0; r < sRef.records(); ++r)
    moves += sRef.promotions(r).size() + sRef.demotions(r).size();
  EXPECT_GT(moves, 100u);

  EXPECT_EQ(mRef->totalSeconds, mLib->totalSeconds);
  EXPECT_EQ(sRef.initialHbm, sLib.initialHbm);
  ASSERT_EQ(sRef.records(), sLib.records());
  for (uint64_t r = 0; r < sRef.records(); ++r) {
    ASSERT_EQ(sRef.promotions(r), sLib.promotions(r)) << "record " << r;
    ASSERT_EQ(sRef.demotions(r), sLib.demotions(r)) << "record " << r;
    ASSERT_EQ(sRef.newBlockInHbm(r), sLib.newBlockInHbm(r)) << "record " << r;
  }
}

} // namespace

TEST(BalancedPolicy, SameScheduleAsUnchangedAlgorithmOneTokenBlocks) {
  for (double sparsity : {0.4, 0.6, 0.8})
    for (double cap : {0.3, 0.6})
      checkSameDecisions({4, 1, 2048, 160, 1, sparsity, cap});
}

TEST(BalancedPolicy, SameScheduleAsUnchangedAlgorithmBlocksAndBatch) {
  for (double sparsity : {0.4, 0.8})
    checkSameDecisions({3, 2, 4096, 120, 16, sparsity, 0.5});
}

TEST(BalancedPolicy, SameScheduleAsUnchangedAlgorithmLocalLayers) {
  // Dead blocks below the window: the chain scan starts after them.
  for (uint32_t block : {1u, 16u})
    checkSameDecisions({4, 2, 2048, 160, block, 0.4, 0.3, 512});
}
