//===- ModelConfigJSON.cpp - Parse Hugging Face config.json --------------===//
//
// Part of kv-opt. Every top-level key is either read (and listed as used),
// known to change neither KV nor weight bytes (listed as ignored), or
// unrecognised (listed, and the caller warns). Values taken for absent keys
// from model-type knowledge are listed as assumed. docs/models.md has the
// rules and the arithmetic they feed.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Core/Error.h"
#include "kvopt/Core/InputLimits.h"
#include "kvopt/Core/Limits.h"
#include "kvopt/Core/ModelConfig.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>

using namespace kvopt;

namespace {

/// Keys that change neither the KV cache nor the weight bytes.
constexpr llvm::StringLiteral kIrrelevantKeys[] = {
    "_name_or_path", "architectures", "attention_bias", "attention_dropout",
    "attn_logit_softcapping", "auto_map", "aux_loss_alpha", "bos_token_id",
    "cache_implementation", "decoder_start_token_id", "eos_token_id", "ep_size",
    "final_logit_softcapping", "hidden_act", "hidden_activation",
    "hidden_dropout", "initial_context_length", "initializer_range",
    "is_encoder_decoder", "layer_norm_eps", "mlp_bias", "n_group",
    "norm_topk_prob", "num_nextn_predict_layers", "output_router_logits",
    "pad_token_id", "partial_rotary_factor", "pretraining_tp", "qk_layernorm",
    "query_pre_attn_scalar", "rms_norm_eps", "rope_local_base_freq",
    "rope_scaling", "rope_theta", "routed_scaling_factor",
    "router_aux_loss_coef", "router_jitter_noise", "scoring_func", "seq_aux",
    "sliding_window_size", "swiglu_limit", "topk_group", "topk_method",
    "transformers_version", "use_bidirectional_attention", "use_cache"};

/// Model types whose configuration class ties the LM head to the embedding
/// unless the config says otherwise.
constexpr llvm::StringLiteral kTiedByDefault[] = {
    "gemma", "gemma2", "gemma3", "gemma3_text", "gpt2", "opt", "bloom"};
/// Model types whose configuration class defaults to an untied LM head.
constexpr llvm::StringLiteral kUntiedByDefault[] = {
    "llama",     "mistral",     "mixtral", "qwen2",   "qwen2_moe",
    "qwen3",     "qwen3_moe",   "deepseek_v2", "deepseek_v3", "phi3",
    "gpt_oss",   "gpt_neox"};
/// Qwen configuration classes: use_sliding_window defaults to false and
/// max_window_layers to 28.
constexpr llvm::StringLiteral kQwenTypes[] = {"qwen2", "qwen2_moe", "qwen3",
                                              "qwen3_moe"};

bool contains(llvm::ArrayRef<llvm::StringLiteral> list, llvm::StringRef s) {
  return llvm::is_contained(list, s);
}

/// Reads keys from the config object and remembers which it read.
class ConfigReader {
public:
  ConfigReader(const llvm::json::Object &o, std::string file,
               ConfigReadReport &report)
      : o(o), file(std::move(file)), report(report) {}

  /// The value of `key`, null when absent or JSON null; marks it used.
  const llvm::json::Value *get(llvm::StringRef key) {
    const llvm::json::Value *v = o.get(key);
    if (!v)
      return nullptr;
    if (seen.insert(key).second)
      report.used.push_back(key.str());
    return v->kind() == llvm::json::Value::Null ? nullptr : v;
  }

  llvm::Error getUnsigned(llvm::StringRef key, unsigned &out, bool required) {
    const llvm::json::Value *v = get(key);
    if (!v) {
      if (required)
        return fieldError(key, "missing (required)" + nestedHint());
      return llvm::Error::success();
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i || *i < 0 || *i > int64_t(UINT32_MAX))
      return fieldError(key, "expected a non-negative integer");
    out = unsigned(*i);
    return llvm::Error::success();
  }

  llvm::Expected<std::optional<bool>> getBool(llvm::StringRef key) {
    const llvm::json::Value *v = get(key);
    if (!v)
      return std::nullopt;
    if (auto b = v->getAsBoolean())
      return std::optional<bool>(*b);
    return fieldError(key, "expected true or false");
  }

  std::optional<llvm::StringRef> getString(llvm::StringRef key) {
    if (const llvm::json::Value *v = get(key))
      return v->getAsString();
    return std::nullopt;
  }

  llvm::Error fieldError(llvm::StringRef key, const std::string &why) const {
    return makeFieldError(file, key.str(), why);
  }

  void assume(const std::string &what) { report.assumed.push_back(what); }
  void warn(const std::string &what) { report.warnings.push_back(what); }

  /// Sorts the keys not read into known-irrelevant and unrecognised.
  void classifyRest() {
    std::vector<std::string> rest;
    for (const auto &kv : o)
      if (!seen.contains(kv.first.str()))
        rest.push_back(kv.first.str());
    std::sort(rest.begin(), rest.end());
    for (const std::string &k : rest)
      (contains(kIrrelevantKeys, k) ? report.ignoredKnown
                                    : report.ignoredUnknown)
          .push_back(k);
  }

private:
  std::string nestedHint() const {
    if (o.get("text_config"))
      return "; the language model's shape is nested under 'text_config', "
             "which is not read: import that object as the config";
    return "";
  }

  const llvm::json::Object &o;
  std::string file;
  ConfigReadReport &report;
  llvm::StringSet<> seen;
};

llvm::Error parseDtype(ConfigReader &r, ModelConfig &m) {
  std::string dtype = "bfloat16";
  std::optional<llvm::StringRef> torchDtype = r.getString("torch_dtype");
  std::optional<llvm::StringRef> plainDtype = r.getString("dtype");
  if (torchDtype && plainDtype && *torchDtype != *plainDtype)
    return r.fieldError("dtype", "'" + plainDtype->str() +
                                     "' contradicts torch_dtype '" +
                                     torchDtype->str() + "'");
  if (torchDtype)
    dtype = torchDtype->str();
  else if (plainDtype)
    dtype = plainDtype->str();
  else
    r.assume("torch_dtype=bfloat16 (absent)");
  if (dtype == "bfloat16" || dtype == "float16")
    m.kvDtypeBytes = 2;
  else if (dtype == "float32")
    m.kvDtypeBytes = 4;
  else
    return r.fieldError("torch_dtype", "unsupported dtype '" + dtype + "'");
  m.weightDtypeBytes = m.kvDtypeBytes;
  if (const llvm::json::Value *qv = r.get("quantization_config")) {
    const llvm::json::Object *q = qv->getAsObject();
    auto method = q ? q->getString("quant_method") : std::nullopt;
    auto fmt = q ? q->getString("fmt") : std::nullopt;
    if (method && *method == "fp8")
      m.weightDtypeBytes = 1;
    else if (fmt && fmt->starts_with("e4m3"))
      m.weightDtypeBytes = 1;
    else if (method && *method == "mxfp4")
      // gpt-oss: the routed experts in MXFP4 (4-bit values, one 8-bit scale
      // per 32), attention, router and embeddings unquantised.
      m.expertWeightDtypeBytes = 4.25 / 8;
    else
      return r.fieldError("quantization_config.quant_method",
                          "unsupported quantisation '" +
                              (method ? method->str() : std::string()) +
                              "' (fp8 and mxfp4 are modelled)");
  }
  return llvm::Error::success();
}

llvm::Error parseAttention(ConfigReader &r, ModelConfig &m) {
  unsigned explicitHeadDim = 0;
  if (auto e = r.getUnsigned("head_dim", explicitHeadDim, false))
    return e;
  if (auto e = r.getUnsigned("kv_lora_rank", m.kvLoraRank, false))
    return e;
  if (m.kvLoraRank) {
    m.attention = AttentionKind::MLA;
    if (auto e = r.getUnsigned("qk_rope_head_dim", m.qkRopeHeadDim, true))
      return e;
    if (auto e = r.getUnsigned("qk_nope_head_dim", m.qkNopeHeadDim, true))
      return e;
    m.vHeadDim = m.qkNopeHeadDim;
    if (auto e = r.getUnsigned("v_head_dim", m.vHeadDim, false))
      return e;
    if (auto e = r.getUnsigned("q_lora_rank", m.qLoraRank, false))
      return e;
    m.headDim = m.qkNopeHeadDim + m.qkRopeHeadDim;
    m.kvHeads = 1; // one shared latent per token
    return llvm::Error::success();
  }
  if (explicitHeadDim) {
    m.headDim = explicitHeadDim;
  } else {
    if (m.hiddenSize % m.heads)
      return r.fieldError("hidden_size",
                          "hidden_size is not a multiple of "
                          "num_attention_heads and no head_dim is given");
    m.headDim = m.hiddenSize / m.heads;
  }
  m.attention = m.kvHeads == m.heads ? AttentionKind::MHA : AttentionKind::GQA;
  return llvm::Error::success();
}

/// Per-layer windows: none without a window or with use_sliding_window
/// false; else layer_types; else sliding_window_pattern or the model type's
/// pattern; else Qwen's max_window_layers; else every layer slides
/// (Mistral).
llvm::Error parseWindows(ConfigReader &r, ModelConfig &m) {
  m.slidingWindow.assign(m.layers, 0);
  unsigned window = 0;
  if (auto e = r.getUnsigned("sliding_window", window, false))
    return e;
  // Read every window key up front, so that each is listed as used even when
  // an earlier rule (layer_types, use_sliding_window: false) decides.
  llvm::Expected<std::optional<bool>> use = r.getBool("use_sliding_window");
  if (!use)
    return use.takeError();
  unsigned pattern = 0, firstSliding = 0;
  if (auto e = r.getUnsigned("sliding_window_pattern", pattern, false))
    return e;
  if (!pattern)
    if (auto e = r.getUnsigned("_sliding_window_pattern", pattern, false))
      return e;
  const bool haveMax = r.get("max_window_layers") != nullptr;
  if (auto e = r.getUnsigned("max_window_layers", firstSliding, false))
    return e;
  // use_sliding_window: false voids the window, whatever layer_types says
  // (the Hugging Face Qwen classes set sliding_window to None).
  const bool disabled = use->has_value() && !**use;
  if (disabled && window) {
    if (r.get("layer_types"))
      r.assume("every layer full: use_sliding_window is false, so "
               "layer_types' sliding layers have no window");
    return llvm::Error::success();
  }
  if (const llvm::json::Value *tv = r.get("layer_types")) {
    const llvm::json::Array *types = tv->getAsArray();
    if (!types)
      return r.fieldError("layer_types", "expected an array of strings");
    if (types->size() != m.layers)
      return r.fieldError("layer_types",
                          "has " + std::to_string(types->size()) +
                              " entries for " + std::to_string(m.layers) +
                              " layers");
    for (unsigned l = 0; l < m.layers; ++l) {
      auto s = (*types)[l].getAsString();
      if (!s)
        return r.fieldError("layer_types", "expected strings");
      if (*s == "sliding_attention") {
        if (!window)
          return r.fieldError("sliding_window",
                              "layer_types has sliding layers but no window");
        m.slidingWindow[l] = window;
      } else if (*s != "full_attention") {
        return r.fieldError("layer_types",
                            "layer " + std::to_string(l) + " has type '" +
                                s->str() +
                                "'; only full_attention and "
                                "sliding_attention are modelled");
      }
    }
    return llvm::Error::success();
  }
  bool qwen = contains(kQwenTypes, m.modelType);
  if (!window)
    return llvm::Error::success();
  if (disabled)
    return llvm::Error::success();
  if (!use->has_value() && qwen) {
    r.assume("use_sliding_window=false (" + m.modelType + " default)");
    return llvm::Error::success();
  }
  if (!pattern) {
    if (m.modelType == "gemma2")
      pattern = 2;
    else if (m.modelType == "gemma3" || m.modelType == "gemma3_text")
      pattern = 6;
    else if (m.modelType == "cohere2")
      pattern = 4;
    if (pattern)
      r.assume("sliding_window_pattern=" + std::to_string(pattern) + " (" +
               m.modelType + ": every " + std::to_string(pattern) +
               (pattern == 2 ? "nd" : "th") +
               " layer global, the others sliding)");
  }
  if (pattern) {
    // HF: layer l is global when (l + 1) % pattern == 0.
    for (unsigned l = 0; l < m.layers; ++l)
      m.slidingWindow[l] = (l + 1) % pattern ? window : 0;
    return llvm::Error::success();
  }
  if (!haveMax && qwen) {
    firstSliding = 28;
    r.assume("max_window_layers=28 (" + m.modelType + " default)");
  }
  // Qwen: layers at or past max_window_layers slide.
  for (unsigned l = firstSliding; l < m.layers; ++l)
    m.slidingWindow[l] = window;
  return llvm::Error::success();
}

/// Experts, routing and which layers are MoE.
llvm::Error parseExperts(ConfigReader &r, ModelConfig &m) {
  const char *expertKeys[] = {"num_local_experts", "num_experts",
                              "n_routed_experts"};
  const char *from = nullptr;
  for (const char *key : expertKeys) {
    unsigned n = 0;
    if (auto e = r.getUnsigned(key, n, false))
      return e;
    if (!n)
      continue;
    if (from && n != m.experts)
      return r.fieldError(key, std::to_string(n) + " contradicts " + from +
                                   " (" + std::to_string(m.experts) + ")");
    m.experts = n;
    from = key;
  }
  if (!m.experts) {
    if (m.expertWeightDtypeBytes > 0)
      return r.fieldError("quantization_config.quant_method",
                          "mxfp4 is modelled for the experts of a MoE model; "
                          "this config has no experts");
    return llvm::Error::success();
  }
  // gpt-oss writes both spellings; they must agree.
  unsigned alias = 0;
  if (auto e = r.getUnsigned("num_experts_per_tok", m.expertsPerToken, false))
    return e;
  if (auto e = r.getUnsigned("experts_per_token", alias, false))
    return e;
  if (alias && m.expertsPerToken && alias != m.expertsPerToken)
    return r.fieldError("experts_per_token",
                        std::to_string(alias) +
                            " contradicts num_experts_per_tok (" +
                            std::to_string(m.expertsPerToken) + ")");
  if (!m.expertsPerToken)
    m.expertsPerToken = alias;
  if (m.expertsPerToken == 0 || m.expertsPerToken > m.experts)
    return r.fieldError("num_experts_per_tok",
                        "must be in 1.." + std::to_string(m.experts) +
                            " (the number of experts, from " + from + ")");
  if (auto e = r.getUnsigned("n_shared_experts", m.sharedExperts, false))
    return e;
  if (auto e = r.getUnsigned("shared_expert_intermediate_size",
                             m.sharedExpertIntermediateSize, false))
    return e;
  m.moeIntermediateSize = 0;
  if (auto e = r.getUnsigned("moe_intermediate_size", m.moeIntermediateSize,
                             false))
    return e;
  if (!m.moeIntermediateSize) {
    m.moeIntermediateSize = m.intermediateSize;
    r.assume("moe_intermediate_size=intermediate_size (" +
             std::to_string(m.intermediateSize) + ", absent)");
  }

  // Which layers are MoE: DeepSeek's first_k_dense_replace and
  // moe_layer_freq, Qwen-MoE's decoder_sparse_step and mlp_only_layers.
  unsigned freq = 1, step = 1;
  if (auto e = r.getUnsigned("first_k_dense_replace", m.denseLeadingLayers,
                             false))
    return e;
  if (auto e = r.getUnsigned("moe_layer_freq", freq, false))
    return e;
  if (auto e = r.getUnsigned("decoder_sparse_step", step, false))
    return e;
  if (freq == 0)
    return r.fieldError("moe_layer_freq", "must be positive");
  if (step == 0)
    return r.fieldError("decoder_sparse_step", "must be positive");
  m.moeLayers.assign(m.layers, false);
  for (unsigned l = 0; l < m.layers; ++l)
    m.moeLayers[l] =
        l >= m.denseLeadingLayers && l % freq == 0 && (l + 1) % step == 0;
  if (const llvm::json::Value *v = r.get("mlp_only_layers")) {
    const llvm::json::Array *dense = v->getAsArray();
    if (!dense)
      return r.fieldError("mlp_only_layers", "expected an array of layers");
    for (const llvm::json::Value &d : *dense) {
      std::optional<int64_t> l = d.getAsInteger();
      if (!l || *l < 0 || *l >= int64_t(m.layers))
        return r.fieldError("mlp_only_layers",
                            "expected layer indices in 0.." +
                                std::to_string(m.layers - 1));
      m.moeLayers[size_t(*l)] = false;
    }
  }
  return llvm::Error::success();
}

llvm::Error parseTies(ConfigReader &r, ModelConfig &m) {
  llvm::Expected<std::optional<bool>> tie = r.getBool("tie_word_embeddings");
  if (!tie)
    return tie.takeError();
  if (tie->has_value()) {
    m.tieWordEmbeddings = **tie;
    return llvm::Error::success();
  }
  if (contains(kTiedByDefault, m.modelType)) {
    m.tieWordEmbeddings = true;
    r.assume("tie_word_embeddings=true (" + m.modelType + " default)");
  } else if (contains(kUntiedByDefault, m.modelType)) {
    m.tieWordEmbeddings = false;
    r.assume("tie_word_embeddings=false (" + m.modelType + " default)");
  } else {
    r.warn("no tie_word_embeddings and model_type '" + m.modelType +
           "' has no known default: counting the LM head apart from the "
           "embedding (untied)");
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<ModelConfig>
kvopt::parseModelConfigJSON(const std::string &text, const std::string &file,
                            ConfigReadReport *reportOut) {
  llvm::Expected<llvm::json::Value> parsed = parseJsonBounded(text, file);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *o = parsed->getAsObject();
  if (!o)
    return makeFieldError(file, "(root)", "expected a JSON object");
  ConfigReadReport local;
  ConfigReadReport &report = reportOut ? *reportOut : local;
  report = ConfigReadReport();
  ConfigReader r(*o, file, report);

  ModelConfig m;
  m.name = file;
  if (auto t = r.getString("model_type"))
    m.modelType = t->str();
  if (auto e = r.getUnsigned("num_hidden_layers", m.layers, true))
    return std::move(e);
  if (auto e = r.getUnsigned("hidden_size", m.hiddenSize, true))
    return std::move(e);
  if (auto e = r.getUnsigned("num_attention_heads", m.heads, true))
    return std::move(e);
  m.kvHeads = m.heads;
  if (auto e = r.getUnsigned("num_key_value_heads", m.kvHeads, false))
    return std::move(e);
  if (auto e = r.getUnsigned("intermediate_size", m.intermediateSize, true))
    return std::move(e);
  if (auto e = r.getUnsigned("vocab_size", m.vocabSize, true))
    return std::move(e);
  if (auto e = r.getUnsigned("max_position_embeddings",
                             m.maxPositionEmbeddings, false))
    return std::move(e);
  if (m.layers == 0)
    return r.fieldError("num_hidden_layers", "must be positive");
  // Per-layer tables are built from it; no published model comes near.
  if (m.layers > kMaxLayers)
    return r.fieldError("num_hidden_layers",
                        std::to_string(m.layers) + " layers exceed the " +
                            std::to_string(kMaxLayers) + " this tool accepts");
  if (m.heads > kMaxHeads || m.kvHeads > kMaxHeads)
    return r.fieldError(m.heads > kMaxHeads ? "num_attention_heads"
                                            : "num_key_value_heads",
                        "above the supported limit of " +
                            std::to_string(kMaxHeads));
  if (m.hiddenSize == 0)
    return r.fieldError("hidden_size", "must be positive");
  if (m.heads == 0)
    return r.fieldError("num_attention_heads", "must be positive");
  if (m.kvHeads == 0)
    return r.fieldError("num_key_value_heads", "must be positive");
  if (m.heads % m.kvHeads)
    return r.fieldError("num_key_value_heads",
                        "num_attention_heads (" + std::to_string(m.heads) +
                            ") is not a multiple of num_key_value_heads (" +
                            std::to_string(m.kvHeads) + ")");
  if (auto e = parseDtype(r, m))
    return std::move(e);
  if (auto e = parseAttention(r, m))
    return std::move(e);
  if (auto e = parseWindows(r, m))
    return std::move(e);
  if (auto e = parseExperts(r, m))
    return std::move(e);
  if (auto e = parseTies(r, m))
    return std::move(e);
  r.classifyRest();
  return m;
}

std::vector<std::string> ConfigReadReport::warningLines() const {
  std::vector<std::string> lines = warnings;
  if (!ignoredUnknown.empty()) {
    std::string keys;
    for (const std::string &k : ignoredUnknown)
      keys += (keys.empty() ? "" : ", ") + k;
    lines.push_back("ignored keys not recognised: " + keys +
                    "; if one changes the model's shape, the sizes below "
                    "are wrong");
  }
  return lines;
}

llvm::Expected<ModelConfig> kvopt::loadModelConfig(const std::string &path,
                                                   ConfigReadReport *report) {
  auto buf = readBoundedFile(path, kMaxJsonFileBytes, "model config");
  if (!buf)
    return buf.takeError();
  return parseModelConfigJSON((*buf)->getBuffer().str(), path, report);
}
