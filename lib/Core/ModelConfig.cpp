//===- ModelConfig.cpp - Parse Hugging Face config.json ------------------===//
#include "kvopt/Core/ModelConfig.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/Limits.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace kvopt;

const char *kvopt::attentionKindName(AttentionKind kind) {
  switch (kind) {
  case AttentionKind::MHA:
    return "MHA";
  case AttentionKind::GQA:
    return "GQA";
  case AttentionKind::MLA:
    return "MLA";
  }
  return "?";
}

uint64_t ModelConfig::kvBytesPerTokenPerLayer() const {
  if (attention == AttentionKind::MLA)
    return uint64_t(kvLoraRank + qkRopeHeadDim) * kvDtypeBytes;
  return 2ull * kvHeads * headDim * kvDtypeBytes;
}

uint64_t ModelConfig::kvBytesPerToken() const {
  return kvBytesPerTokenPerLayer() * layers;
}

namespace {
/// Parameters of one layer's attention block.
double attentionParams(const ModelConfig &m, unsigned qLoraRank,
                       unsigned qkNope, unsigned vHeadDim) {
  double h = m.hiddenSize;
  if (m.attention == AttentionKind::MLA) {
    double qk = double(qkNope) + m.qkRopeHeadDim;
    double q = qLoraRank ? h * qLoraRank + double(qLoraRank) * m.heads * qk
                         : h * m.heads * qk;
    double kvA = h * (double(m.kvLoraRank) + m.qkRopeHeadDim);
    double kvB = double(m.kvLoraRank) * m.heads * (double(qkNope) + vHeadDim);
    double o = double(m.heads) * vHeadDim * h;
    return q + kvA + kvB + o;
  }
  return h * m.heads * m.headDim * 2 + h * m.kvHeads * m.headDim * 2.0;
}
} // namespace

double ModelConfig::weightBytes() const {
  double h = hiddenSize;
  double attn = attentionParams(*this, qLoraRank, qkNopeHeadDim, vHeadDim);
  double dense = 3.0 * h * intermediateSize;
  double total = 0;
  for (unsigned l = 0; l < layers; ++l) {
    total += attn;
    if (experts && l >= denseLeadingLayers)
      total +=
          3.0 * h * moeIntermediateSize * (double(experts) + sharedExperts) +
          h * experts;
    else
      total += dense;
  }
  total += double(vocabSize) * h * (tieWordEmbeddings ? 1 : 2);
  return total * weightDtypeBytes;
}

double ModelConfig::activeWeightBytesPerLayerStep() const {
  double h = hiddenSize;
  double attn = attentionParams(*this, qLoraRank, qkNopeHeadDim, vHeadDim);
  double total = 0;
  for (unsigned l = 0; l < layers; ++l) {
    total += attn;
    if (experts && l >= denseLeadingLayers)
      total += 3.0 * h * moeIntermediateSize *
                   (double(expertsPerToken) + sharedExperts) +
               h * experts;
    else
      total += 3.0 * h * intermediateSize;
  }
  // The LM head is read once per token; spread it over the layers.
  total += double(vocabSize) * h;
  return total * weightDtypeBytes / layers;
}

static llvm::Error needField(const std::string &file, const char *field,
                             const std::string &why) {
  return makeFieldError(file, field, why);
}

llvm::Expected<ModelConfig>
kvopt::parseModelConfigJSON(const std::string &text, const std::string &file) {
  llvm::Expected<llvm::json::Value> parsed = parseJsonBounded(text, file);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *o = parsed->getAsObject();
  if (!o)
    return makeFieldError(file, "(root)", "expected a JSON object");

  auto getUnsigned = [&](const char *key, unsigned &out,
                         bool required) -> llvm::Error {
    const llvm::json::Value *v = o->get(key);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (required)
        return needField(file, key, "missing (required)");
      return llvm::Error::success();
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i || *i < 0 || *i > int64_t(UINT32_MAX))
      return needField(file, key, "expected a non-negative integer");
    out = unsigned(*i);
    return llvm::Error::success();
  };

  ModelConfig m;
  if (auto t = o->getString("model_type"))
    m.modelType = t->str();
  m.name = file;
  if (auto e = getUnsigned("num_hidden_layers", m.layers, true))
    return std::move(e);
  if (auto e = getUnsigned("hidden_size", m.hiddenSize, true))
    return std::move(e);
  if (auto e = getUnsigned("num_attention_heads", m.heads, true))
    return std::move(e);
  m.kvHeads = m.heads;
  if (auto e = getUnsigned("num_key_value_heads", m.kvHeads, false))
    return std::move(e);
  if (auto e = getUnsigned("intermediate_size", m.intermediateSize, true))
    return std::move(e);
  if (auto e = getUnsigned("vocab_size", m.vocabSize, true))
    return std::move(e);
  if (m.layers == 0)
    return needField(file, "num_hidden_layers", "must be positive");
  if (m.layers > kMaxLayers || m.heads > kMaxHeads || m.kvHeads > kMaxHeads)
    return needField(file,
                     m.layers > kMaxLayers ? "num_hidden_layers"
                     : m.heads > kMaxHeads ? "num_attention_heads"
                                           : "num_key_value_heads",
                     "above the supported limit of 65536");
  if (m.hiddenSize == 0)
    return needField(file, "hidden_size", "must be positive");
  if (m.heads == 0)
    return needField(file, "num_attention_heads", "must be positive");
  if (m.kvHeads == 0)
    return needField(file, "num_key_value_heads", "must be positive");
  if (m.heads % m.kvHeads)
    return needField(file, "num_key_value_heads",
                     "num_attention_heads (" + std::to_string(m.heads) +
                         ") is not a multiple of num_key_value_heads (" +
                         std::to_string(m.kvHeads) + ")");
  m.tieWordEmbeddings = o->getBoolean("tie_word_embeddings").value_or(false);

  // Data types.
  std::string dtype = "bfloat16";
  if (auto d = o->getString("torch_dtype"))
    dtype = d->str();
  else if (auto d2 = o->getString("dtype"))
    dtype = d2->str();
  if (dtype == "bfloat16" || dtype == "float16")
    m.kvDtypeBytes = 2;
  else if (dtype == "float32")
    m.kvDtypeBytes = 4;
  else
    return needField(file, "torch_dtype", "unsupported dtype '" + dtype + "'");
  m.weightDtypeBytes = m.kvDtypeBytes;
  if (const llvm::json::Object *q = o->getObject("quantization_config")) {
    auto method = q->getString("quant_method");
    auto fmt = q->getString("fmt");
    if (method && *method == "fp8")
      m.weightDtypeBytes = 1;
    else if (fmt && fmt->starts_with("e4m3"))
      m.weightDtypeBytes = 1;
    else
      return needField(file, "quantization_config.quant_method",
                       "unsupported quantisation (only fp8 is modelled)");
  }

  // Attention layout.
  unsigned explicitHeadDim = 0;
  if (auto e = getUnsigned("head_dim", explicitHeadDim, false))
    return std::move(e);
  if (auto e = getUnsigned("kv_lora_rank", m.kvLoraRank, false))
    return std::move(e);
  if (m.kvLoraRank) {
    m.attention = AttentionKind::MLA;
    if (auto e = getUnsigned("qk_rope_head_dim", m.qkRopeHeadDim, true))
      return std::move(e);
    if (auto e = getUnsigned("qk_nope_head_dim", m.qkNopeHeadDim, true))
      return std::move(e);
    m.vHeadDim = m.qkNopeHeadDim;
    if (auto e = getUnsigned("v_head_dim", m.vHeadDim, false))
      return std::move(e);
    if (auto e = getUnsigned("q_lora_rank", m.qLoraRank, false))
      return std::move(e);
    m.headDim = m.qkNopeHeadDim + m.qkRopeHeadDim;
    m.kvHeads = 1; // one shared latent per token
  } else {
    if (explicitHeadDim) {
      m.headDim = explicitHeadDim;
    } else {
      if (m.hiddenSize % m.heads)
        return needField(file, "hidden_size",
                         "hidden_size is not a multiple of "
                         "num_attention_heads and no head_dim is given");
      m.headDim = m.hiddenSize / m.heads;
    }
    m.attention =
        m.kvHeads == m.heads ? AttentionKind::MHA : AttentionKind::GQA;
  }

  // Sliding windows.
  m.slidingWindow.assign(m.layers, 0);
  if (const llvm::json::Array *types = o->getArray("layer_types")) {
    if (types->size() != m.layers)
      return needField(file, "layer_types",
                       "has " + std::to_string(types->size()) +
                           " entries for " + std::to_string(m.layers) +
                           " layers");
    unsigned window = 0;
    if (auto e = getUnsigned("sliding_window", window, false))
      return std::move(e);
    for (unsigned l = 0; l < m.layers; ++l) {
      auto s = (*types)[l].getAsString();
      if (!s)
        return needField(file, "layer_types", "expected strings");
      if (*s == "sliding_attention") {
        if (!window)
          return needField(file, "sliding_window",
                           "layer_types has sliding layers but no window");
        m.slidingWindow[l] = window;
      }
    }
  } else {
    unsigned window = 0;
    if (auto e = getUnsigned("sliding_window", window, false))
      return std::move(e);
    bool enabled = o->getBoolean("use_sliding_window").value_or(true);
    if (window && enabled) {
      unsigned firstSliding = 0;
      // Qwen2: layers >= max_window_layers slide.
      if (o->get("use_sliding_window"))
        if (auto e = getUnsigned("max_window_layers", firstSliding, false))
          return std::move(e);
      for (unsigned l = firstSliding; l < m.layers; ++l)
        m.slidingWindow[l] = window;
    }
  }

  // Mixture of experts.
  if (auto e = getUnsigned("num_local_experts", m.experts, false))
    return std::move(e);
  if (!m.experts)
    if (auto e = getUnsigned("n_routed_experts", m.experts, false))
      return std::move(e);
  if (m.experts) {
    if (auto e = getUnsigned("num_experts_per_tok", m.expertsPerToken, true))
      return std::move(e);
    if (auto e = getUnsigned("n_shared_experts", m.sharedExperts, false))
      return std::move(e);
    m.moeIntermediateSize = m.intermediateSize;
    if (auto e =
            getUnsigned("moe_intermediate_size", m.moeIntermediateSize, false))
      return std::move(e);
    if (auto e =
            getUnsigned("first_k_dense_replace", m.denseLeadingLayers, false))
      return std::move(e);
    if (m.expertsPerToken == 0 || m.expertsPerToken > m.experts)
      return needField(file, "num_experts_per_tok",
                       "must be in 1..number of experts");
  }
  return m;
}

llvm::Expected<ModelConfig> kvopt::loadModelConfig(const std::string &path) {
  auto buf = readBoundedFile(path, kMaxJsonFileBytes, "model config");
  if (!buf)
    return buf.takeError();
  return parseModelConfigJSON((*buf)->getBuffer().str(), path);
}
