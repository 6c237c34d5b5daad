//===- ModelConfigTargetsTest.cpp - imported sizes against hand arithmetic ===//
//
// The targets table of docs/models.md: for every config in
// ../shared/data/models and the in-tree examples/configs, KV bytes per token,
// KV bytes of one sequence at max_position_embeddings, and resident weight
// bytes, each within 1% of values worked out by hand in that document from
// the published parameter counts and the architecture (not from the code).
// Also the MoE expected-experts formula and its use by the workload.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/ModelConfig.h"
#include "TestUtil.h"
#include "kvopt/Core/Workload.h"

#include <cmath>
#include <fstream>

using namespace kvopt;
using namespace kvopt::test;

namespace {
struct Target {
  const char *file;    ///< under ../shared/data/models or examples/configs
  bool inTree;         ///< examples/configs (else ../shared/data/models)
  double kvPerToken;   ///< B, all layers
  double kvPerSeq;     ///< B, one sequence at max_position_embeddings
  double publishedParams;
  double bytesPerParam;
};

// docs/models.md, "Targets". Resident weights = published parameter count
// x bytes per parameter.
const Target kTargets[] = {
    {"Llama-3.1-8B.json", false, 131072, 131072.0 * 131072, 8.03e9, 2},
    {"Llama-3.1-70B.json", false, 327680, 327680.0 * 131072, 70.6e9, 2},
    {"Llama-3.1-405B.json", false, 516096, 516096.0 * 131072, 405e9, 2},
    {"Llama-3.2-1B.json", false, 32768, 32768.0 * 131072, 1.23e9, 2},
    {"Mixtral-8x7B-v0.1.json", false, 131072, 131072.0 * 32768, 46.7e9, 2},
    {"Qwen2.5-7B-Instruct.json", false, 57344, 57344.0 * 32768, 7.61e9, 2},
    {"Qwen3-8B.json", false, 147456, 147456.0 * 40960, 8.2e9, 2},
    {"Qwen3-32B.json", false, 262144, 262144.0 * 40960, 32.8e9, 2},
    {"DeepSeek-V3.json", false, 70272, 70272.0 * 163840, 671e9, 1},
    // 21 global layers x 8192 tokens + 21 local layers x 4096 tokens, 8 KiB
    // per token per layer.
    {"gemma-2-9b-it.json", true, 344064, (21.0 * 8192 + 21.0 * 4096) * 8192,
     9.24e9, 2},
    // Every layer keeps its 4096-token window: 32 x 4096 x 4 KiB.
    {"Mistral-7B-v0.1.json", true, 131072, 32.0 * 4096 * 4096, 7.24e9, 2},
    {"Qwen3-30B-A3B.json", true, 98304, 98304.0 * 40960, 30.5e9, 2},
};

std::string pathOf(const Target &t) {
  if (t.inTree)
    return std::string(KVOPT_EXAMPLES_DIR) + "/configs/" + t.file;
  return sharedData(std::string("models/") + t.file);
}

bool haveSharedData() {
  return std::ifstream(sharedData("models/SOURCES.md")).good();
}

void expectWithin1Percent(double got, double want, const char *what,
                          const char *file) {
  EXPECT_NEAR(got, want, 0.01 * want) << file << ": " << what;
}
} // namespace

TEST(ModelConfigTargets, WithinOnePercentOfHandArithmetic) {
  bool shared = haveSharedData();
  unsigned checked = 0;
  for (const Target &t : kTargets) {
    if (!t.inTree && !shared)
      continue;
    ConfigReadReport report;
    ModelConfig m = unwrap(loadModelConfig(pathOf(t), &report));
    ASSERT_GT(m.maxPositionEmbeddings, 0u) << t.file;
    expectWithin1Percent(double(m.kvBytesPerToken()), t.kvPerToken,
                         "KV bytes per token", t.file);
    expectWithin1Percent(double(m.kvBytesPerSequence(m.maxPositionEmbeddings)),
                         t.kvPerSeq, "KV bytes per sequence at the limit",
                         t.file);
    expectWithin1Percent(m.weightBytes(), t.publishedParams * t.bytesPerParam,
                         "resident weight bytes", t.file);
    // Every key of a published config is accounted for.
    EXPECT_TRUE(report.ignoredUnknown.empty())
        << t.file << ": unrecognised key " << report.ignoredUnknown.front();
    ++checked;
  }
  EXPECT_GE(checked, 3u);
}

TEST(ModelConfigTargets, GemmaAlternatesAndTies) {
  ConfigReadReport report;
  ModelConfig g = unwrap(loadModelConfig(
      std::string(KVOPT_EXAMPLES_DIR) + "/configs/gemma-2-9b-it.json",
      &report));
  ASSERT_EQ(g.slidingWindow.size(), 42u);
  for (unsigned l = 0; l < 42; ++l)
    EXPECT_EQ(g.slidingWindow[l], l % 2 ? 0u : 4096u) << "layer " << l;
  EXPECT_TRUE(g.tieWordEmbeddings);
  EXPECT_EQ(g.maxPositionEmbeddings, 8192u);
  EXPECT_NE(std::find(report.assumed.begin(), report.assumed.end(),
                      "tie_word_embeddings=true (gemma2 default)"),
            report.assumed.end());
}

TEST(ModelConfigTargets, ExpectedExpertsTouched) {
  ModelConfig m;
  m.layers = 1;
  m.experts = 128;
  m.expertsPerToken = 8;
  // E (1 - (1 - k/E)^b), worked by hand.
  EXPECT_DOUBLE_EQ(m.expectedExpertsTouched(1), 8.0);
  EXPECT_NEAR(m.expectedExpertsTouched(2), 128 * (1 - 0.9375 * 0.9375), 1e-9);
  EXPECT_NEAR(m.expectedExpertsTouched(64), 128 * (1 - std::pow(0.9375, 64)),
              1e-9);
  EXPECT_LE(m.expectedExpertsTouched(1000), 128.0);
  EXPECT_GT(m.expectedExpertsTouched(1000), 127.99);
  m.experts = 0;
  EXPECT_EQ(m.expectedExpertsTouched(8), 0.0);
}

TEST(ModelConfigTargets, WorkloadReadsTheExpertsItsBatchTouches) {
  Workload w;
  w.model = unwrap(loadModelConfig(std::string(KVOPT_EXAMPLES_DIR) +
                                   "/configs/Qwen3-30B-A3B.json"));
  ASSERT_EQ(w.model.moeLayerCount(), 48u);
  // Batch 1: 3.3 B active parameters per token (published), bf16; the
  // embedding lookup reads one row, so about 3.3 B - 0.31 B are read.
  double one = w.weightBytesPerLayerStep() * w.model.layers;
  EXPECT_NEAR(one / 2, 3.3e9 - 151936.0 * 2048, 0.02 * 3.3e9);
  // A batch of 64 touches 128 (1 - (1 - 8/128)^64) = 125.6 of 128 experts:
  // nearly every expert weight is read.
  w.batch = 64;
  double many = w.weightBytesPerLayerStep() * w.model.layers;
  EXPECT_GT(many, one * 8);
  EXPECT_LT(many, w.residentWeightBytes());
  EXPECT_NEAR(many / 2, 30.5e9 * 0.98, 0.02 * 30.5e9);
}

TEST(ModelConfigTargets, QwenMoeSharedExpertBlock) {
  // Qwen2-MoE: 60 routed experts of 1408, 4 active, one shared block of
  // 5632 (= 4 x 1408) read by every token.
  std::string text = R"({"model_type": "qwen2_moe", "num_hidden_layers": 2,
    "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128,
    "vocab_size": 100, "num_experts": 60, "num_experts_per_tok": 4,
    "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632})";
  ConfigReadReport report;
  ModelConfig m = unwrap(parseModelConfigJSON(text, "qmoe.json", &report));
  EXPECT_EQ(m.moeLayerCount(), 2u);
  EXPECT_EQ(m.sharedExpertIntermediateSize, 5632u);
  // Per layer: attention 4 x 64 x 64 = 16384; experts 3 x 64 x 1408 x 60 =
  // 16220160; shared 3 x 64 x 5632 = 1081344; router 64 x 60 = 3840.
  // Untied (qwen2_moe default) embeddings 2 x 100 x 64 = 12800.
  double perLayer = 16384 + 16220160 + 1081344 + 3840;
  EXPECT_DOUBLE_EQ(m.weightBytes(), (2 * perLayer + 12800) * 2);
  // One token reads 4 routed experts and the shared block.
  double active = 16384 + 3 * 64 * 1408 * 4 + 1081344 + 3840;
  EXPECT_DOUBLE_EQ(m.activeWeightBytesPerLayerStep(1) * 2,
                   (2 * active + 6400) * 2);
  EXPECT_NE(std::find(report.assumed.begin(), report.assumed.end(),
                      "tie_word_embeddings=false (qwen2_moe default)"),
            report.assumed.end());
}

TEST(ModelConfigTargets, ExpertCountSpellingsMustAgree) {
  std::string text = R"({"model_type": "gpt_oss", "num_hidden_layers": 2,
    "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128,
    "vocab_size": 100, "num_local_experts": 8, "num_experts_per_tok": 4,
    "experts_per_token": 2})";
  std::string msg = errorOf(parseModelConfigJSON(text, "oss.json"));
  EXPECT_NE(msg.find("field 'experts_per_token': 2 contradicts "
                     "num_experts_per_tok (4)"),
            std::string::npos)
      << msg;
}

TEST(ModelConfigTargets, WorkloadKeepsWindowsPastThePlan) {
  // A window shorter than the plan is modelled (docs/model.md,
  // "Sliding-window (local) layers"):
  // the local layers' oldest blocks die as tokens leave the window.
  Workload w;
  w.model = unwrap(loadModelConfig(std::string(KVOPT_EXAMPLES_DIR) +
                                   "/configs/Mistral-7B-v0.1.json"));
  w.promptLen = 4000;
  w.decodeSteps = 97;
  w.tokensPerBlock = 16;
  EXPECT_FALSE(bool(w.validate()));
  EXPECT_TRUE(w.hasWindows());
  EXPECT_EQ(w.windowOf(0), 4096u);
  EXPECT_EQ(w.deadBlocksAt(0, 96), 0u);  // 4096 tokens: all in the window
  EXPECT_EQ(w.windowStart(0, 97 - 1), 0u);
  w.decodeSteps = 200;
  EXPECT_EQ(w.deadBlocksAt(0, 112), 1u); // token 4112: tokens 0-15 left
  EXPECT_EQ(w.deathStep(0, 0), 112u);
  // Layers past the list are global (tools that override the layer count).
  w.model.layers = 33;
  EXPECT_EQ(w.windowOf(32), 0u);
  EXPECT_EQ(w.deathStep(32, 0), UINT32_MAX);
}
