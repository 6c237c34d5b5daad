//===- ModelConfig.h - Transformer shapes from HF config.json ---*- C++ -*-===//
//
// The parts of a Hugging Face `config.json` that decide KV-cache and weight
// traffic: layers, attention and KV heads, head dim, dtype, MLA latent sizes,
// sliding windows and MoE routing.
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
  bool tieWordEmbeddings = false;

  /// KV bytes of one token in one layer (K and V, or the MLA latent).
  uint64_t kvBytesPerTokenPerLayer() const;
  /// KV bytes of one token over all layers.
  uint64_t kvBytesPerToken() const;
  /// Estimated total weight bytes (all experts), from the shapes.
  double weightBytes() const;
  /// Estimated weight bytes read per decode step of one layer: attention
  /// projections + (dense MLP or shared + active experts), plus the
  /// embedding/LM head spread evenly over the layers.
  double activeWeightBytesPerLayerStep() const;
};

/// Parse a Hugging Face config.json. Unsupported configurations (missing
/// fields, zero sizes, head dims that do not divide, unknown dtypes) are
/// errors naming the file and the field.
llvm::Expected<ModelConfig> parseModelConfigJSON(const std::string &text,
                                                 const std::string &file);

/// Read and parse a config.json from disk.
llvm::Expected<ModelConfig> loadModelConfig(const std::string &path);

} // namespace kvopt

#endif // KVOPT_CORE_MODELCONFIG_H
