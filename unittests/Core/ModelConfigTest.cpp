//===- ModelConfigTest.cpp - config.json import against SOURCES.md -------===//
#include "kvopt/Core/ModelConfig.h"
#include "TestUtil.h"
#include "kvopt/Core/Problem.h"
#include "kvopt/Core/Workload.h"

#include <fstream>

using namespace kvopt;
using namespace kvopt::test;

namespace {
struct Expected {
  const char *file;
  unsigned layers, heads, kvHeads, headDim;
  uint64_t kvBytesPerToken;
  AttentionKind kind;
};

// The table of ../shared/data/models/SOURCES.md.
const Expected kTable[] = {
    {"Llama-3.1-8B.json", 32, 32, 8, 128, 131072, AttentionKind::GQA},
    {"Llama-3.1-70B.json", 80, 64, 8, 128, 327680, AttentionKind::GQA},
    {"Llama-3.1-405B.json", 126, 128, 8, 128, 516096, AttentionKind::GQA},
    {"Llama-3.2-1B.json", 16, 32, 8, 64, 32768, AttentionKind::GQA},
    {"Mixtral-8x7B-v0.1.json", 32, 32, 8, 128, 131072, AttentionKind::GQA},
    {"Qwen2.5-7B-Instruct.json", 28, 28, 4, 128, 57344, AttentionKind::GQA},
    {"Qwen3-8B.json", 36, 32, 8, 128, 147456, AttentionKind::GQA},
    {"Qwen3-32B.json", 64, 64, 8, 128, 262144, AttentionKind::GQA},
    {"DeepSeek-V3.json", 61, 128, 1, 192, 70272, AttentionKind::MLA},
};

bool haveSharedData() {
  return std::ifstream(sharedData("models/SOURCES.md")).good();
}
} // namespace

TEST(ModelConfig, KvBytesMatchSourcesTable) {
  if (!haveSharedData())
    GTEST_SKIP() << "no ../shared/data";
  for (const Expected &e : kTable) {
    ModelConfig m =
        unwrap(loadModelConfig(sharedData(std::string("models/") + e.file)));
    EXPECT_EQ(m.layers, e.layers) << e.file;
    EXPECT_EQ(m.heads, e.heads) << e.file;
    EXPECT_EQ(m.kvHeads, e.kvHeads) << e.file;
    EXPECT_EQ(m.headDim, e.headDim) << e.file;
    EXPECT_EQ(m.kvBytesPerToken(), e.kvBytesPerToken) << e.file;
    EXPECT_EQ(m.attention, e.kind) << e.file;
  }
}

TEST(ModelConfig, WeightEstimates) {
  if (!haveSharedData())
    GTEST_SKIP() << "no ../shared/data";
  ModelConfig llama =
      unwrap(loadModelConfig(sharedData("models/Llama-3.1-8B.json")));
  // 8.03 B parameters in bf16.
  EXPECT_NEAR(llama.weightBytes() / 2, 8.03e9, 0.01 * 8.03e9);
  ModelConfig mix =
      unwrap(loadModelConfig(sharedData("models/Mixtral-8x7B-v0.1.json")));
  EXPECT_EQ(mix.experts, 8u);
  EXPECT_EQ(mix.expertsPerToken, 2u);
  EXPECT_NEAR(mix.weightBytes() / 2, 46.7e9, 0.01 * 46.7e9);
  // 12.9 B active per token (all layers, LM head once).
  EXPECT_NEAR(mix.activeWeightBytesPerLayerStep() * mix.layers / 2, 12.9e9,
              0.02 * 12.9e9);
  ModelConfig ds =
      unwrap(loadModelConfig(sharedData("models/DeepSeek-V3.json")));
  EXPECT_EQ(ds.weightDtypeBytes, 1);
  EXPECT_EQ(ds.denseLeadingLayers, 3u);
  // 671 B parameters (without the MTP module), FP8.
  EXPECT_NEAR(ds.weightBytes(), 671e9, 0.03 * 671e9);
}

TEST(ModelConfig, SlidingWindowOnlyWhenEnabled) {
  if (!haveSharedData())
    GTEST_SKIP() << "no ../shared/data";
  ModelConfig qwen =
      unwrap(loadModelConfig(sharedData("models/Qwen2.5-7B-Instruct.json")));
  for (unsigned w : qwen.slidingWindow)
    EXPECT_EQ(w, 0u);
  std::string text = R"({"num_hidden_layers": 4, "hidden_size": 64,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
    "vocab_size": 100, "sliding_window": 32, "use_sliding_window": true,
    "max_window_layers": 2})";
  ModelConfig m = unwrap(parseModelConfigJSON(text, "swa.json"));
  EXPECT_EQ(m.slidingWindow, (std::vector<unsigned>{0, 0, 32, 32}));
  EXPECT_EQ(m.headDim, 16u);
  std::string types = R"({"num_hidden_layers": 2, "hidden_size": 64,
    "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100,
    "sliding_window": 8, "layer_types": ["sliding_attention", "full_attention"]})";
  ModelConfig g = unwrap(parseModelConfigJSON(types, "types.json"));
  EXPECT_EQ(g.slidingWindow, (std::vector<unsigned>{8, 0}));
  EXPECT_EQ(g.attention, AttentionKind::MHA);
}

TEST(ModelConfig, ClearErrors) {
  std::string noLayers = R"({"hidden_size": 64, "num_attention_heads": 4,
    "intermediate_size": 1, "vocab_size": 1})";
  std::string msg = errorOf(parseModelConfigJSON(noLayers, "a.json"));
  EXPECT_NE(msg.find("a.json: field 'num_hidden_layers': missing"),
            std::string::npos)
      << msg;
  std::string badHeads = R"({"num_hidden_layers": 2, "hidden_size": 64,
    "num_attention_heads": 6, "num_key_value_heads": 4, "intermediate_size": 1,
    "vocab_size": 1})";
  msg = errorOf(parseModelConfigJSON(badHeads, "b.json"));
  EXPECT_NE(msg.find("num_key_value_heads"), std::string::npos) << msg;
  std::string dtype = R"({"num_hidden_layers": 2, "hidden_size": 64,
    "num_attention_heads": 4, "intermediate_size": 1, "vocab_size": 1,
    "torch_dtype": "int4"})";
  msg = errorOf(parseModelConfigJSON(dtype, "c.json"));
  EXPECT_NE(msg.find("unsupported dtype 'int4'"), std::string::npos) << msg;
  msg = errorOf(parseModelConfigJSON("{not json", "d.json"));
  EXPECT_NE(msg.find("d.json: field 'json'"), std::string::npos) << msg;
  msg = errorOf(loadModelConfig("/nonexistent/config.json"));
  EXPECT_NE(msg.find("cannot read"), std::string::npos) << msg;
}

TEST(Workload, PaperModeSizes) {
  Workload w = makePaperWorkload();
  EXPECT_EQ(w.entryBytes(), 16384u);
  EXPECT_DOUBLE_EQ(w.weightBytesPerLayerStep(), 162889728.0);
  EXPECT_DOUBLE_EQ(w.residentWeightBytes(), 16e9);
  EXPECT_EQ(w.promptLen, 31299u);
  EXPECT_EQ(w.decodeSteps, 10239u);
  EXPECT_FALSE(bool(w.validate()));
  w.tokensPerBlock = 0;
  std::string msg = errorOf(w.validate());
  EXPECT_NE(msg.find("tokens_per_block"), std::string::npos) << msg;
}

TEST(Workload, WeightsLargerThanHbmAreExplained) {
  if (!haveSharedData())
    GTEST_SKIP() << "no ../shared/data";
  Workload w;
  w.model = unwrap(loadModelConfig(sharedData("models/DeepSeek-V3.json")));
  w.promptLen = 1024;
  w.decodeSteps = 16;
  EXPECT_EQ(w.entryBytes(), 1152u); // (512 + 64) x 2 B
  MemorySystem gh = unwrap(getHardwarePreset("gh200"));
  std::string msg = errorOf(Problem::create(gh, w));
  EXPECT_NE(msg.find("HBM capacity left for KV after"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("below one block"), std::string::npos) << msg;
  // Llama-3.1-8B fits: 96 GB - 16 GB of weights, 4 KiB entries.
  Workload l;
  l.model = unwrap(loadModelConfig(sharedData("models/Llama-3.1-8B.json")));
  l.promptLen = 1024;
  l.decodeSteps = 16;
  Problem p = unwrap(Problem::create(gh, l));
  EXPECT_EQ(l.entryBytes(), 4096u);
  EXPECT_NEAR(double(p.capacityBlocks), (96e9 - l.residentWeightBytes()) / 4096,
              1.0);
}
