//===- DeploymentPlanTest.cpp - planning the shards of a deployment -------===//
//
// Distinct shards are planned side by side; each result must be the one the
// shard gets when planned alone (same inputs, same outputs), and the
// deployment's time must be the pipeline of the stages' times.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/TraceGenerators.h"
#include "kvopt/Planning/DeploymentPlan.h"

#include "gtest/gtest.h"

using namespace kvopt;

namespace {
template <typename T> T unwrap(llvm::Expected<T> v) {
  if (!v) {
    ADD_FAILURE() << errorToString(v.takeError());
    std::abort();
  }
  return std::move(*v);
}

ModelConfig tinyModel() {
  return unwrap(parseModelConfigJSON(
      R"({"hidden_size": 512, "intermediate_size": 1024,
          "num_attention_heads": 8, "num_hidden_layers": 6,
          "num_key_value_heads": 4, "vocab_size": 1000,
          "torch_dtype": "bfloat16"})",
      "tiny.json"));
}

MemorySystem tinyGpu() {
  MemorySystem m;
  m.name = "tiny";
  m.tiers.push_back({"hbm", TierKind::HBM, 6e6, 1e12, 1e12});
  m.tiers.push_back({"dram", TierKind::DRAM, 1e9, 1e11, 1e11});
  m.links.push_back({"dram", "hbm", 5e10, 5e10});
  return m;
}

/// The deployment plan of `d` for 4 sequences of 512 + 64 tokens.
DeploymentPlan makePlan(const Deployment &d) {
  ModelConfig model = tinyModel();
  Workload whole;
  whole.model = model;
  whole.promptLen = 512;
  whole.decodeSteps = 64;
  whole.batch = 4;
  whole.tokensPerBlock = 16;
  DeploymentPlan plan;
  plan.deployment = d;
  plan.batch = whole.batch;
  plan.decodeSteps = whole.decodeSteps;
  plan.stageShard.resize(d.pp);
  for (const Shard &s : unwrap(shardModel(model, d))) {
    GeneratorParams g;
    g.layers = s.layers;
    g.batch = whole.batch;
    g.promptLen = whole.promptLen;
    g.decodeSteps = whole.decodeSteps;
    for (unsigned stage : s.stages)
      plan.stageShard[stage] = unsigned(plan.shards.size());
    plan.shards.push_back(
        {s, unwrap(Problem::create(tinyGpu(), shardWorkload(whole, s))),
         TraceFactory([g]() { return makeGenerator(g); }),
         {}, {}, 0});
  }
  return plan;
}

PlanOptions quick() {
  PlanOptions o;
  o.baselines = false;
  o.solver = "lagrangian";
  return o;
}
} // namespace

TEST(DeploymentPlan, ShardsInParallelEqualShardsAlone) {
  // tp=2, pp=3: 6 layers -> stages of 2 layers; three distinct shards
  // (embedding, middle, LM head).
  DeploymentPlan plan = makePlan({2, 3, 1});
  ASSERT_EQ(plan.shards.size(), 3u);
  ASSERT_FALSE(bool(planDeployment(plan, quick())));
  for (size_t i = 0; i < plan.shards.size(); ++i) {
    DeploymentPlan alone = makePlan({2, 3, 1});
    ShardPlan keep = std::move(alone.shards[i]);
    alone.shards.clear();
    alone.shards.push_back(std::move(keep));
    alone.stageShard.assign(1, 0);
    ASSERT_FALSE(bool(planDeployment(alone, quick())));
    EXPECT_EQ(alone.shards[0].result.boundSeconds,
              plan.shards[i].result.boundSeconds)
        << i;
    EXPECT_EQ(alone.shards[0].result.scheduleSeconds,
              plan.shards[i].result.scheduleSeconds)
        << i;
    EXPECT_EQ(alone.shards[0].result.schedule.totalMoves(),
              plan.shards[i].result.schedule.totalMoves())
        << i;
  }
  // The deployment time is the pipeline of the stages (4 sequences, 3
  // stages: 3 micro-batches).
  std::vector<double> t, b, r;
  for (unsigned s = 0; s < 3; ++s) {
    const ShardPlan &sp = plan.shards[plan.stageShard[s]];
    t.push_back(sp.result.scheduleSeconds);
    b.push_back(sp.result.boundSeconds);
    r.push_back(sp.rereadSeconds);
    // One more pass over the stage's weights: steps x layers x bytes / BW.
    EXPECT_DOUBLE_EQ(sp.rereadSeconds,
                     64.0 * 2 * sp.shard.weightBytesPerLayerStep / 1e12);
  }
  EXPECT_EQ(plan.schedule.microbatches, 3u);
  EXPECT_DOUBLE_EQ(plan.schedule.seconds, combinePipeline(t, r, 4).seconds);
  EXPECT_DOUBLE_EQ(plan.bound.seconds, combinePipeline(b, r, 4).seconds);
  EXPECT_LE(plan.bound.seconds, plan.schedule.seconds);
  EXPECT_DOUBLE_EQ(plan.tokensPerSecond, 4.0 * 64 / plan.schedule.seconds);
}

TEST(DeploymentPlan, ShardWorkloadCarriesTheShare) {
  ModelConfig model = tinyModel();
  Workload whole;
  whole.model = model;
  whole.promptLen = 100;
  whole.decodeSteps = 10;
  Shard s = unwrap(shardModel(model, {4, 2, 1}))[1];
  Workload w = shardWorkload(whole, s);
  EXPECT_EQ(w.model.layers, 3u);
  EXPECT_EQ(w.model.kvHeads, 1u);
  EXPECT_EQ(w.entryBytes(), s.kvBytesPerTokenPerLayer);
  EXPECT_EQ(w.entryBytes(), 2u * 1 * 64 * 2);
  EXPECT_DOUBLE_EQ(w.residentWeightBytes(), s.residentWeightBytes);
  EXPECT_DOUBLE_EQ(w.weightBytesPerLayerStep(), s.weightBytesPerLayerStep);
  EXPECT_EQ(w.promptLen, 100u);
}
