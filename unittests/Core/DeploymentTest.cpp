//===- DeploymentTest.cpp - TP/PP/DP shards against hand arithmetic -------===//
//
// Every expected number below is worked out by hand in docs/deployment.md
// (the per-GPU table) from the published config.json shapes, which are
// inlined here so that the tests run without the shared data.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Deployment.h"
#include "kvopt/Core/SharedTier.h"
#include "TestUtil.h"

using namespace kvopt;
using namespace kvopt::test;

namespace {
const char *kLlama70B = R"({"model_type": "llama", "hidden_size": 8192,
  "intermediate_size": 28672, "num_attention_heads": 64,
  "num_hidden_layers": 80, "num_key_value_heads": 8,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vocab_size": 128256})";
const char *kLlama405B = R"({"model_type": "llama", "hidden_size": 16384,
  "intermediate_size": 53248, "num_attention_heads": 128,
  "num_hidden_layers": 126, "num_key_value_heads": 8,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vocab_size": 128256})";
const char *kDeepSeekV3 = R"({"model_type": "deepseek_v3",
  "first_k_dense_replace": 3, "hidden_size": 7168,
  "intermediate_size": 18432, "kv_lora_rank": 512,
  "moe_intermediate_size": 2048, "n_routed_experts": 256,
  "n_shared_experts": 1, "num_attention_heads": 128,
  "num_experts_per_tok": 8, "num_hidden_layers": 61,
  "num_key_value_heads": 128, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
  "qk_rope_head_dim": 64, "quantization_config": {"fmt": "e4m3",
  "quant_method": "fp8"}, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "v_head_dim": 128, "vocab_size": 129280})";
const char *kTiedSliding = R"({"model_type": "qwen2", "hidden_size": 64,
  "intermediate_size": 128, "num_attention_heads": 4,
  "num_hidden_layers": 4, "num_key_value_heads": 2,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "vocab_size": 1000, "sliding_window": 16, "use_sliding_window": true,
  "max_window_layers": 2})";

ModelConfig config(const char *json) {
  return unwrap(parseModelConfigJSON(json, "test.json"));
}
std::vector<Shard> shards(const ModelConfig &m, Deployment d) {
  return unwrap(shardModel(m, d));
}
} // namespace

TEST(Deployment, SingleGpuMatchesTheModelsOwnWeights) {
  for (const char *json : {kLlama70B, kLlama405B, kDeepSeekV3, kTiedSliding}) {
    ModelConfig m = config(json);
    std::vector<Shard> s = shards(m, {});
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].multiplicity, 1u);
    EXPECT_EQ(s[0].layers, m.layers);
    EXPECT_EQ(s[0].kvBytesPerTokenPerLayer, m.kvBytesPerTokenPerLayer());
    EXPECT_DOUBLE_EQ(s[0].residentWeightBytes, m.weightBytes());
    EXPECT_DOUBLE_EQ(s[0].weightBytesPerLayerStep,
                     m.activeWeightBytesPerLayerStep());
    // A batch touches more routed experts; the shard follows the model.
    std::vector<Shard> b8 = unwrap(shardModel(m, {}, 8));
    EXPECT_DOUBLE_EQ(b8[0].weightBytesPerLayerStep,
                     m.activeWeightBytesPerLayerStep(8));
  }
}

TEST(Deployment, Llama70BTensorParallel2) {
  std::vector<Shard> s = shards(config(kLlama70B), {2, 1, 1});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].multiplicity, 2u);
  EXPECT_EQ(s[0].kvHeads, 4u);
  EXPECT_EQ(s[0].kvReplicas, 1u);
  // 2 (K, V) x 4 heads x 128 x 2 B.
  EXPECT_EQ(s[0].kvBytesPerTokenPerLayer, 2048u);
  // Per layer: q+o 2*8192*32*128 + k,v 2*8192*4*128 + MLP 3*8192*28672/2;
  // 80 layers + embedding and LM head 128256*8192/2 each; 2 B per weight.
  EXPECT_DOUBLE_EQ(s[0].residentWeightBytes, 70552387584.0);
  EXPECT_DOUBLE_EQ(s[0].weightBytesPerLayerStep, 868771430.4);
  // 64k tokens x 4 sequences x 80 layers x 2048 B.
  EXPECT_DOUBLE_EQ(s[0].kvBytes(65536, 4), 65536.0 * 4 * 80 * 2048);
}

TEST(Deployment, Llama405BTensorParallel8And16Replicates) {
  ModelConfig m = config(kLlama405B);
  std::vector<Shard> tp8 = shards(m, {8, 1, 1});
  ASSERT_EQ(tp8.size(), 1u);
  EXPECT_EQ(tp8[0].multiplicity, 8u);
  EXPECT_EQ(tp8[0].kvHeads, 1u);
  EXPECT_EQ(tp8[0].kvReplicas, 1u);
  EXPECT_EQ(tp8[0].kvBytesPerTokenPerLayer, 512u);
  EXPECT_DOUBLE_EQ(tp8[0].residentWeightBytes, 101462310912.0);
  // TP = 16 exceeds the 8 KV heads: each GPU holds one head, every head on
  // two GPUs; the KV projections are replicated with it.
  std::vector<Shard> tp16 = shards(m, {16, 1, 1});
  ASSERT_EQ(tp16.size(), 1u);
  EXPECT_EQ(tp16[0].kvHeads, 1u);
  EXPECT_EQ(tp16[0].kvReplicas, 2u);
  EXPECT_EQ(tp16[0].kvBytesPerTokenPerLayer, 512u);
  EXPECT_DOUBLE_EQ(tp16[0].residentWeightBytes, 51259637760.0);
  EXPECT_GT(tp16[0].residentWeightBytes, tp8[0].residentWeightBytes / 2);
}

TEST(Deployment, DeepSeekV3MlaLatentReplicated) {
  std::vector<Shard> s = shards(config(kDeepSeekV3), {8, 1, 1});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kvHeads, 1u);
  EXPECT_EQ(s[0].kvReplicas, 8u);
  // (512 + 64) x 2 B: the whole latent on every GPU.
  EXPECT_EQ(s[0].kvBytesPerTokenPerLayer, 1152u);
  // FP8 weights (1 B): 61 x 36634624 attention + 3 x 49545216 dense MLP +
  // 58 x (257 x 5505024 experts + 7168 x 256 router) + 2 x 115834880 vocab.
  EXPECT_DOUBLE_EQ(s[0].residentWeightBytes, 84779335680.0);
  EXPECT_NEAR(s[0].weightBytesPerLayerStep, 89823534.164, 1e-3);
}

TEST(Deployment, PipelineStagesLastTakesRemainder) {
  EXPECT_EQ(stageLayerCounts(80, 3), (std::vector<unsigned>{26, 26, 28}));
  EXPECT_EQ(stageLayerCounts(126, 4), (std::vector<unsigned>{31, 31, 31, 33}));
  ModelConfig m = config(kLlama70B);
  std::vector<Shard> s = shards(m, {2, 4, 1});
  // Stage 0 (embedding), stages 1-2 (identical, merged), stage 3 (LM head).
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].stages, std::vector<unsigned>{0});
  EXPECT_TRUE(s[0].embedding);
  EXPECT_EQ(s[1].stages, (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(s[1].multiplicity, 4u);
  EXPECT_EQ(s[2].stages, std::vector<unsigned>{3});
  EXPECT_TRUE(s[2].lmHead);
  EXPECT_EQ(s[1].firstLayer, 20u);
  // 20 layers x 427819008 params x 2 B; the end stages add one vocab shard.
  EXPECT_DOUBLE_EQ(s[1].residentWeightBytes, 17112760320.0);
  EXPECT_DOUBLE_EQ(s[0].residentWeightBytes, 18163433472.0);
  double sum = 0;
  for (const Shard &sh : s)
    sum += sh.residentWeightBytes * sh.multiplicity;
  EXPECT_DOUBLE_EQ(sum, m.weightBytes());
  // Uneven stages are distinct shards.
  std::vector<Shard> uneven = shards(m, {1, 3, 2});
  ASSERT_EQ(uneven.size(), 3u);
  EXPECT_EQ(uneven[2].layers, 28u);
  EXPECT_EQ(uneven[2].multiplicity, 2u);
}

TEST(Deployment, TiedEmbeddingsAndSlidingWindows) {
  ModelConfig m = config(kTiedSliding);
  std::vector<Shard> one = shards(m, {});
  std::vector<Shard> two = shards(m, {1, 2, 1});
  ASSERT_EQ(two.size(), 2u);
  // Tied: one tensor on a single stage, a copy on each end of a pipeline.
  double vocab = 1000.0 * 64 * 2;
  EXPECT_DOUBLE_EQ(two[0].residentWeightBytes + two[1].residentWeightBytes,
                   one[0].residentWeightBytes + vocab);
  // Layers 2 and 3 slide with a 16-token window: stage 1 holds 16 tokens.
  EXPECT_EQ(two[1].slidingWindow, (std::vector<unsigned>{16, 16}));
  uint64_t entry = 2 * 2 * 16 * 2; // K,V x 2 heads x head dim 16 x 2 B
  EXPECT_DOUBLE_EQ(two[0].kvBytes(100, 3), 100.0 * 3 * 2 * entry);
  EXPECT_DOUBLE_EQ(two[1].kvBytes(100, 3), 16.0 * 3 * 2 * entry);
}

TEST(Deployment, ValidationNamesTheOptionAndValue) {
  ModelConfig m = config(kLlama70B);
  EXPECT_NE(errorOf(Deployment{3, 1, 1}.validate(m))
                .find("tp = 3 does not divide the 64 query heads"),
            std::string::npos);
  EXPECT_NE(errorOf(Deployment{0, 1, 1}.validate(m)).find("field 'tp'"),
            std::string::npos);
  EXPECT_NE(errorOf(Deployment{1, 81, 1}.validate(m))
                .find("pp = 81 exceeds the 80 layers"),
            std::string::npos);
  EXPECT_NE(errorOf(Deployment{1, 1, 0}.validate(m)).find("field 'dp'"),
            std::string::npos);
  ModelConfig odd = m;
  odd.heads = 48;
  odd.kvHeads = 8;
  EXPECT_NE(errorOf(Deployment{12, 1, 1}.validate(odd))
                .find("neither divides nor is a multiple of the 8 KV heads"),
            std::string::npos);
  EXPECT_FALSE(bool(shardModel(m, {3, 1, 1})));
}

TEST(Deployment, PipelineBubbleModel) {
  // One sequence: no micro-batching, stages run one after the other.
  PipelineTime serial = combinePipeline({1, 1}, {0, 0}, 1);
  EXPECT_DOUBLE_EQ(serial.seconds, 2);
  EXPECT_EQ(serial.microbatches, 1u);
  EXPECT_DOUBLE_EQ(serial.bubbleFraction, 0.5);
  // Two micro-batches: each stage re-reads its weights once more.
  PipelineTime even = combinePipeline({1, 1}, {0.1, 0.1}, 8);
  EXPECT_EQ(even.microbatches, 2u);
  EXPECT_DOUBLE_EQ(even.seconds, 1.1);
  EXPECT_NEAR(even.bubbleFraction, 0, 1e-12);
  // Uneven stages: the slowest stage sets the pace.
  PipelineTime uneven = combinePipeline({1, 3}, {0, 0}, 4);
  EXPECT_DOUBLE_EQ(uneven.seconds, 3);
  EXPECT_DOUBLE_EQ(uneven.bubbleFraction, 1.0 / 3);
  EXPECT_DOUBLE_EQ(combinePipeline({2.5}, {1}, 8).seconds, 2.5);
}

TEST(Deployment, SmallestDeploymentSearch) {
  ModelConfig m = config(kLlama70B);
  std::vector<Deployment> c = candidateDeployments(m, 4);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].gpus(), 1u);
  for (size_t i = 1; i < c.size(); ++i)
    EXPECT_LE(c[i - 1].gpus(), c[i].gpus());
  // 3 GPUs: only pp = 3 or dp = 3 (tp = 3 does not divide 64 heads).
  for (const Deployment &d : c)
    EXPECT_NE(d.tp, 3u);
  // Throughput grows with TP and DP; one GPU does not fit (0).
  auto tps = [](const Deployment &d) -> llvm::Expected<double> {
    return d.gpus() == 1 ? 0.0 : 10.0 * d.tp * d.dp + d.pp;
  };
  DeploymentSearch s = unwrap(findSmallestDeployment(m, 8, 35, tps));
  ASSERT_TRUE(s.best.has_value());
  EXPECT_EQ(s.best->gpus(), 4u);
  EXPECT_EQ(s.best->tp, 4u);
  EXPECT_DOUBLE_EQ(s.bestTokensPerSecond, 41);
  for (auto &[d, v] : s.tried)
    EXPECT_LE(d.gpus(), 4u);
  DeploymentSearch none = unwrap(findSmallestDeployment(m, 2, 1000, tps));
  EXPECT_FALSE(none.best.has_value());
  EXPECT_NE(errorOf(findSmallestDeployment(m, 2, -1, tps)).find("positive"),
            std::string::npos);
}

TEST(SharedTier, Gb200GraceSharedByTwoGpus) {
  SharedTierSystem s = unwrap(getSharedTierPreset("gb200-nvl72"));
  EXPECT_EQ(s.gpus, 72u);
  EXPECT_EQ(s.gpusPerSlowTier, 2u);
  EXPECT_TRUE(s.unverified);
  MemorySystem both = unwrap(perGpuMemorySystem(s, 2));
  EXPECT_DOUBLE_EQ(both.hbm().capacityBytes, 186e9);
  EXPECT_DOUBLE_EQ(both.hbm().readBandwidth, 8e12);
  EXPECT_DOUBLE_EQ(both.dram().capacityBytes, 240e9);
  EXPECT_DOUBLE_EQ(both.dram().readBandwidth, 256e9);
  EXPECT_DOUBLE_EQ(both.hostToDeviceBandwidth(), 225e9);
  EXPECT_DOUBLE_EQ(both.deviceToHostBandwidth(), 225e9);
  MemorySystem alone = unwrap(perGpuMemorySystem(s, 1));
  EXPECT_DOUBLE_EQ(alone.dram().capacityBytes, 480e9);
  EXPECT_DOUBLE_EQ(alone.dram().readBandwidth, 512e9);
  EXPECT_DOUBLE_EQ(alone.hostToDeviceBandwidth(), 450e9);
  EXPECT_EQ(activeGpusPerSlowTier(s, 1), 1u);
  EXPECT_EQ(activeGpusPerSlowTier(s, 8), 2u);
  EXPECT_NE(errorOf(perGpuMemorySystem(s, 3)).find("must be in 1..2, got 3"),
            std::string::npos);
  // The single-GPU preset table carries the all-busy view.
  MemorySystem preset = unwrap(getHardwarePreset("gb200-nvl72"));
  EXPECT_DOUBLE_EQ(preset.dram().readBandwidth, 256e9);
  EXPECT_TRUE(preset.unverified);
}

TEST(SharedTier, PcieHostsAndGh200Nvl2) {
  SharedTierSystem h100 = unwrap(getSharedTierPreset("h100-pcie-x8"));
  MemorySystem four = unwrap(perGpuMemorySystem(h100, 4));
  // One socket's 1 TB DDR5 and 8 x 38.4 GB/s split four ways; the PCIe
  // link is each GPU's own.
  EXPECT_DOUBLE_EQ(four.dram().capacityBytes, 250e9);
  EXPECT_DOUBLE_EQ(four.dram().readBandwidth, 76.8e9);
  EXPECT_DOUBLE_EQ(four.hostToDeviceBandwidth(), 64e9);
  EXPECT_DOUBLE_EQ(four.hbm().capacityBytes, 80e9);
  SharedTierSystem h200 = unwrap(getSharedTierPreset("h200-pcie-x8"));
  EXPECT_DOUBLE_EQ(h200.gpu.hbm().capacityBytes, 141e9);
  EXPECT_DOUBLE_EQ(h200.gpu.hbm().readBandwidth, 4.8e12);
  SharedTierSystem nvl2 = unwrap(getSharedTierPreset("gh200-nvl2"));
  MemorySystem own = unwrap(perGpuMemorySystem(nvl2, 1));
  EXPECT_DOUBLE_EQ(own.dram().readBandwidth, 512e9);
  EXPECT_DOUBLE_EQ(own.hbm().capacityBytes, 144e9);
  EXPECT_DOUBLE_EQ(own.hostToDeviceBandwidth(), 450e9);
  for (const std::string &name : listSharedTierPresets())
    EXPECT_FALSE(bool(unwrap(getSharedTierPreset(name)).validate())) << name;
  EXPECT_NE(errorOf(getSharedTierPreset("gh200")).find("not a multi-GPU"),
            std::string::npos);
  SharedTierSystem bad = nvl2;
  bad.gpusPerSlowTier = 3;
  EXPECT_NE(errorOf(bad.validate()).find("gpus_per_slow_tier"),
            std::string::npos);
}
