//===- LagrangianKernelTest.cpp - The bound's evaluation is unchanged -----===//
//
// LagrangianBound::evaluate against the evaluation as first written
// (ReferenceLagrangian.h) on seed-like problems of 1-16-token blocks, one or
// two sequences, global and local (sliding-window) layers, ragged prompts,
// with random multipliers (capacity prices from none to above what a read
// block saves, so every transition and run shape is taken), with and
// without subgradient data and plan, on every block and sampled: every
// number must be the same bit for bit (the bound's speed-ups keep every
// floating-point operation and its order).
//
//===----------------------------------------------------------------------===//
#include "ReferenceLagrangian.h"

#include "kvopt/Core/Error.h"
#include "kvopt/Core/Hardware.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Random.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/LagrangianBound.h"
#include "kvopt/Solver/ResourceCosts.h"

#include "SolverTestUtil.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

struct Case {
  uint32_t layers, batch, prompt, decode, tokensPerBlock;
  double sparsity;
  uint32_t oddLayerWindow;
};

bool sameBits(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

void expectSame(const DualValue &ref, const DualValue &lib) {
  EXPECT_TRUE(sameBits(ref.bound, lib.bound))
      << ref.bound << " vs " << lib.bound;
  EXPECT_TRUE(sameBits(ref.raw, lib.raw)) << ref.raw << " vs " << lib.raw;
  ASSERT_EQ(ref.resourceSeconds.size(), lib.resourceSeconds.size());
  ASSERT_EQ(ref.occupancy.size(), lib.occupancy.size());
  for (size_t w = 0; w < ref.occupancy.size(); ++w) {
    EXPECT_TRUE(sameBits(ref.occupancy[w], lib.occupancy[w])) << "window " << w;
    for (unsigned r = 0; r < kNumResources; ++r)
      EXPECT_TRUE(
          sameBits(ref.resourceSeconds[w][r], lib.resourceSeconds[w][r]))
          << "window " << w << " resource " << r;
  }
}

void checkSameEvaluation(const Case &c) {
  SCOPED_TRACE("layers " + std::to_string(c.layers) + " batch " +
               std::to_string(c.batch) + " prompt " + std::to_string(c.prompt) +
               " tokens/block " + std::to_string(c.tokensPerBlock) +
               " window " + std::to_string(c.oddLayerWindow));
  auto mem = getHardwarePreset("paper");
  ASSERT_TRUE(bool(mem)) << errorToString(mem.takeError());
  Workload w = makePaperWorkload(c.prompt, c.decode);
  w.model.layers = c.layers;
  w.model.slidingWindow.assign(c.layers, 0);
  for (uint32_t l = 1; l < c.layers; l += 2)
    w.model.slidingWindow[l] = c.oddLayerWindow;
  w.batch = c.batch;
  w.tokensPerBlock = c.tokensPerBlock;
  w.residentWeightBytesOverride = 0;
  auto p = Problem::create(*mem, w);
  ASSERT_TRUE(bool(p)) << errorToString(p.takeError());
  uint64_t all = uint64_t(c.layers) * c.batch * w.blocksPerSeqLayer();
  Problem problem = p->withCapacityBlocks(std::max<uint64_t>(1, all / 2));
  GeneratorParams g = kvopt::testing::generatorFor(w, c.sparsity, 0.3, 11);
  auto trace = makeGenerator(g);
  ASSERT_TRUE(bool(trace)) << errorToString(trace.takeError());
  auto acc = BlockAccesses::build(**trace, problem.work);
  ASSERT_TRUE(bool(acc)) << errorToString(acc.takeError());
  auto model = ResourceCosts::fromModel(problem.model);
  ASSERT_TRUE(bool(model)) << errorToString(model.takeError());
  Rng rng(c.layers * 1000 + c.tokensPerBlock * 10 + c.batch);
  // The model's costs scaled by irregular factors: with the preset's round
  // numbers many sums come out exact in any order, which would hide a
  // changed order of operations.
  ResourceCosts scaled = *model;
  for (ResourceVec *v : {&scaled.hit, &scaled.miss, &scaled.promote,
                         &scaled.demote, &scaled.appendHbm, &scaled.appendDram})
    for (double &x : *v)
      x *= 1 + rng.unit();
  const ResourceCosts *costs = &scaled;
  LagrangianBound lb(*acc, *costs, problem.capacityBlocks);

  for (uint32_t windows : {1u, 3u, 8u}) {
    DualPrices base = lb.initialPrices(windows);
    for (int trial = 0; trial < 10; ++trial) {
      SCOPED_TRACE("windows " + std::to_string(windows) + " trial " +
                   std::to_string(trial));
      DualPrices q = base;
      // Value of one fully read block per record, the ascent's unit.
      double unit = dot(q.mu[0], costs->miss) * c.tokensPerBlock /
                    (double(c.layers) * c.batch);
      for (size_t k = 0; k < q.windows(); ++k) {
        if (trial > 0) {
          double z = 0;
          for (double &m : q.mu[k]) {
            m = rng.unit() + (trial % 5 == 4 ? 0 : 1e-3);
            z += m;
          }
          for (double &m : q.mu[k])
            m /= z;
        }
        // 0, small, about break-even and far above.
        static const double scale[] = {0, 0.05, 0.5, 1, 2, 20};
        q.lambda[k] = trial == 0 ? 0 : unit * scale[rng.below(6)] * rng.unit();
      }
      for (bool gradient : {false, true})
        for (uint32_t stride : {1u, 3u}) {
          DualValue ref =
              reference::evaluate(*acc, *costs, problem.capacityBlocks, q,
                                  gradient, nullptr, stride);
          DualValue lib = lb.evaluate(q, gradient, nullptr, stride);
          expectSame(ref, lib);
        }
      BlockPlan pr, pl;
      DualValue ref = reference::evaluate(*acc, *costs, problem.capacityBlocks,
                                          q, true, &pr);
      DualValue lib = lb.evaluate(q, true, &pl);
      expectSame(ref, lib);
      EXPECT_EQ(pr.firstInHbm, pl.firstInHbm);
      EXPECT_EQ(pr.offsets, pl.offsets);
      EXPECT_EQ(pr.switches, pl.switches);
      // Threads do not change the value (an evaluation with a plan is one
      // chunk, so its subgradient sums are compared with their own kind).
      expectSame(reference::evaluate(*acc, *costs, problem.capacityBlocks, q,
                                     true, nullptr, 1, 1),
                 lb.evaluate(q, true, nullptr, 1, 3));
    }
  }
}

TEST(LagrangianKernel, SameEvaluationAsUnchangedAlgorithmTokenBlocks) {
  checkSameEvaluation({2, 1, 300, 40, 1, 0.4, 0});
  checkSameEvaluation({3, 2, 257, 33, 1, 0.6, 0});
}

TEST(LagrangianKernel, SameEvaluationAsUnchangedAlgorithmMultiTokenBlocks) {
  checkSameEvaluation({2, 1, 301, 45, 2, 0.4, 0});
  checkSameEvaluation({2, 2, 130, 50, 3, 0.5, 0});
  checkSameEvaluation({2, 1, 517, 70, 16, 0.6, 0});
  checkSameEvaluation({3, 1, 255, 36, 4, 0.8, 0});
}

TEST(LagrangianKernel, SameEvaluationAsUnchangedAlgorithmLocalLayers) {
  checkSameEvaluation({4, 1, 300, 60, 1, 0.4, 64});
  checkSameEvaluation({4, 2, 333, 80, 4, 0.6, 100});
  checkSameEvaluation({2, 1, 200, 90, 16, 0.5, 48});
}

} // namespace
