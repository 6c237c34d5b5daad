//===- ModelConfig.cpp - KV and weight sizes of a model shape ------------===//
#include "kvopt/Core/ModelConfig.h"
#include "kvopt/Core/Error.h"

#include <algorithm>
#include <cmath>

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

bool ModelConfig::isMoeLayer(unsigned l) const {
  if (!experts)
    return false;
  if (!moeLayers.empty())
    return l < moeLayers.size() && moeLayers[l];
  return l >= denseLeadingLayers;
}

unsigned ModelConfig::moeLayerCount() const {
  unsigned n = 0;
  for (unsigned l = 0; l < layers; ++l)
    n += isMoeLayer(l);
  return n;
}

double ModelConfig::expectedExpertsTouched(unsigned batch) const {
  if (!experts)
    return 0;
  double e = experts;
  double k = std::min<double>(expertsPerToken, e);
  return e * (1.0 - std::pow(1.0 - k / e, double(std::max(1u, batch))));
}

uint64_t ModelConfig::cachedTokens(unsigned l, uint64_t tokens) const {
  unsigned window = l < slidingWindow.size() ? slidingWindow[l] : 0;
  return window ? std::min<uint64_t>(window, tokens) : tokens;
}

uint64_t ModelConfig::kvBytesPerSequence(uint64_t tokens) const {
  uint64_t total = 0;
  for (unsigned l = 0; l < layers; ++l)
    total += cachedTokens(l, tokens) * kvBytesPerTokenPerLayer();
  return total;
}

namespace {
/// Parameters of one layer's attention block.
double attentionParams(const ModelConfig &m) {
  double h = m.hiddenSize;
  if (m.attention == AttentionKind::MLA) {
    double qk = double(m.qkNopeHeadDim) + m.qkRopeHeadDim;
    double q = m.qLoraRank
                   ? h * m.qLoraRank + double(m.qLoraRank) * m.heads * qk
                   : h * m.heads * qk;
    double kvA = h * (double(m.kvLoraRank) + m.qkRopeHeadDim);
    double kvB =
        double(m.kvLoraRank) * m.heads * (double(m.qkNopeHeadDim) + m.vHeadDim);
    double o = double(m.heads) * m.vHeadDim * h;
    return q + kvA + kvB + o;
  }
  return h * m.heads * m.headDim * 2 + h * m.kvHeads * m.headDim * 2.0;
}

/// Intermediate width of the always-active shared experts of a MoE layer.
double sharedIntermediate(const ModelConfig &m) {
  return m.sharedExpertIntermediateSize
             ? double(m.sharedExpertIntermediateSize)
             : double(m.sharedExperts) * m.moeIntermediateSize;
}

/// Bytes of one MoE layer's MLP when `routed` routed experts count: gated
/// (three-matrix) routed experts at the experts' width, shared experts and
/// the router at the model's.
double moeBytes(const ModelConfig &m, double routed) {
  double h = m.hiddenSize;
  double expertBytes = m.expertWeightDtypeBytes > 0 ? m.expertWeightDtypeBytes
                                                    : m.weightDtypeBytes;
  return 3.0 * h * double(m.moeIntermediateSize) * routed * expertBytes +
         (3.0 * h * sharedIntermediate(m) + h * m.experts) * m.weightDtypeBytes;
}

/// Bytes of layer `l` when `routed` routed experts count.
double layerBytes(const ModelConfig &m, unsigned l, double routed) {
  double attn = attentionParams(m) * m.weightDtypeBytes;
  if (m.isMoeLayer(l))
    return attn + moeBytes(m, routed);
  return attn +
         3.0 * double(m.hiddenSize) * m.intermediateSize * m.weightDtypeBytes;
}
} // namespace

double ModelConfig::weightBytes() const {
  double total = 0;
  for (unsigned l = 0; l < layers; ++l)
    total += layerBytes(*this, l, experts);
  total += double(vocabSize) * hiddenSize * (tieWordEmbeddings ? 1 : 2) *
           weightDtypeBytes;
  return total;
}

double ModelConfig::activeWeightBytesPerLayerStep(unsigned batch) const {
  double touched = expectedExpertsTouched(batch);
  double total = 0;
  for (unsigned l = 0; l < layers; ++l)
    total += layerBytes(*this, l, touched);
  // The LM head is read once per step; spread it over the layers.
  total += double(vocabSize) * hiddenSize * weightDtypeBytes;
  return total / layers;
}
