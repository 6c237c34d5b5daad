//===- ModelConfig.h - Transformer shapes from HF config.json ---*- C++ -*-===//
//
// The parts of a Hugging Face `config.json` that decide KV-cache and weight
// traffic: layers, attention and KV heads, head dim, dtype, MLA latent sizes,
// per-layer sliding windows and MoE routing. The parser reports every key it
// used, every value it assumed for an absent key and every key it ignored
// (docs/models.md).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_MODELCONFIG_H
#define KVOPT_CORE_MODELCONFIG_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kvopt {

/// The attention/KV layout of a model.
enum class AttentionKind {
  MHA, ///< kv_heads == heads
  GQA, ///< kv_heads < heads
  MLA  ///< DeepSeek-style latent cache (kv_lora_rank + qk_rope_head_dim)
};

const char *attentionKindName(AttentionKind kind);

/// Model shape as used by the time model.
struct ModelConfig {
  std::string name;
  std::string modelType; ///< config "model_type"
  AttentionKind attention = AttentionKind::GQA;
  unsigned layers = 0;
  unsigned hiddenSize = 0;
  unsigned heads = 0;
  unsigned kvHeads = 0;
  unsigned headDim = 0;
  unsigned intermediateSize = 0;
  unsigned vocabSize = 0;
  /// Bytes per KV element (2 for bf16/fp16, 4 for fp32).
  unsigned kvDtypeBytes = 2;
  /// Bytes per weight element (1 for FP8-quantised checkpoints).
  double weightDtypeBytes = 2;
  /// Bytes per routed-expert weight when the experts alone are quantised
  /// (MXFP4: 4.25 bits); 0: weightDtypeBytes.
  double expertWeightDtypeBytes = 0;
  /// MLA latent sizes (0 unless attention == MLA).
  unsigned kvLoraRank = 0;
  unsigned qkRopeHeadDim = 0;
  /// MLA projection sizes (weight estimate only).
  unsigned qLoraRank = 0;
  unsigned qkNopeHeadDim = 0;
  unsigned vHeadDim = 0;
  /// Per layer: the sliding window in tokens, 0 for full attention.
  std::vector<unsigned> slidingWindow;
  /// MoE: experts per MoE layer, experts used per token (0 when dense).
  unsigned experts = 0;
  unsigned expertsPerToken = 0;
  unsigned sharedExperts = 0;
  unsigned moeIntermediateSize = 0;
  /// Number of leading dense layers in a MoE model (first_k_dense_replace).
  unsigned denseLeadingLayers = 0;
  /// Intermediate size of the always-active shared expert block (Qwen-MoE's
  /// shared_expert_intermediate_size); 0: sharedExperts x moeIntermediateSize.
  unsigned sharedExpertIntermediateSize = 0;
  /// Per layer: true when the layer's MLP is a MoE block. Empty: every layer
  /// from denseLeadingLayers on is MoE when experts > 0.
  std::vector<bool> moeLayers;
  bool tieWordEmbeddings = false;
  /// max_position_embeddings (0 when the config does not say).
  unsigned maxPositionEmbeddings = 0;

  /// True when layer `l` has a MoE MLP.
  bool isMoeLayer(unsigned l) const;
  /// Layers with a MoE MLP.
  unsigned moeLayerCount() const;
  /// Expected number of distinct routed experts one MoE layer reads in a
  /// decode step of `batch` tokens, each choosing expertsPerToken of the
  /// experts independently and uniformly: E (1 - (1 - k/E)^b).
  double expectedExpertsTouched(unsigned batch) const;
  /// Tokens layer `l` keeps for a sequence of `tokens`: min(window, tokens).
  uint64_t cachedTokens(unsigned l, uint64_t tokens) const;
  /// KV bytes of one sequence of `tokens` over all layers (sliding layers
  /// hold at most their window).
  uint64_t kvBytesPerSequence(uint64_t tokens) const;

  /// KV bytes of one token in one layer (K and V, or the MLA latent).
  uint64_t kvBytesPerTokenPerLayer() const;
  /// KV bytes of one token over all layers.
  uint64_t kvBytesPerToken() const;
  /// Estimated total weight bytes (all experts), from the shapes.
  double weightBytes() const;
  /// Estimated weight bytes read per decode step of one layer, averaged over
  /// the layers, for a step decoding `batch` sequences: attention projections
  /// + (dense MLP, or router + shared experts + the expected distinct routed
  /// experts the batch touches), plus the LM head spread over the layers.
  double activeWeightBytesPerLayerStep(unsigned batch = 1) const;
};

/// What parseModelConfigJSON read, assumed and skipped: the import summary.
struct ConfigReadReport {
  /// Top-level keys whose values were read, in first-read order.
  std::vector<std::string> used;
  /// Values taken for absent keys, e.g. "tie_word_embeddings=true (gemma2)".
  std::vector<std::string> assumed;
  /// Keys present and not read because they change neither KV nor weight
  /// bytes (token ids, norms' epsilon, RoPE constants, ...).
  std::vector<std::string> ignoredKnown;
  /// Keys present and not recognised: they might change the shape.
  std::vector<std::string> ignoredUnknown;
  /// Defaults the user should check (e.g. an unknown model_type).
  std::vector<std::string> warnings;

  /// The lines every tool must show: `warnings`, then one naming the
  /// unrecognised keys (if any).
  std::vector<std::string> warningLines() const;
};

/// Parse a Hugging Face config.json. Unsupported configurations (missing
/// fields, zero sizes, head dims that do not divide, unknown dtypes or layer
/// types, contradicting expert counts) are errors naming the file and the
/// field.
/// When `report` is given it receives the import summary.
llvm::Expected<ModelConfig>
parseModelConfigJSON(const std::string &text, const std::string &file,
                     ConfigReadReport *report = nullptr);

/// Read and parse a config.json from disk.
llvm::Expected<ModelConfig> loadModelConfig(const std::string &path,
                                            ConfigReadReport *report = nullptr);

} // namespace kvopt

#endif // KVOPT_CORE_MODELCONFIG_H
