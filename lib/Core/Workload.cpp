//===- Workload.cpp - Workload sizes and validation ----------------------===//
#include "kvopt/Core/Workload.h"
#include "kvopt/Core/Error.h"

using namespace kvopt;

uint64_t Workload::entryBytes() const {
  return entryBytesOverride ? entryBytesOverride
                            : model.kvBytesPerTokenPerLayer();
}

double Workload::weightBytesPerLayerStep() const {
  return weightBytesPerLayerStepOverride >= 0
             ? weightBytesPerLayerStepOverride
             : model.activeWeightBytesPerLayerStep(batch);
}

double Workload::residentWeightBytes() const {
  return residentWeightBytesOverride >= 0 ? residentWeightBytesOverride
                                          : model.weightBytes();
}

llvm::Error Workload::validate() const {
  const std::string ctx = "workload '" + model.name + "'";
  if (model.layers == 0)
    return makeFieldError(ctx, "layers", "must be positive");
  if (promptLen == 0)
    return makeFieldError(ctx, "prompt", "must be positive");
  if (decodeSteps == 0)
    return makeFieldError(ctx, "decode", "must be positive");
  if (batch == 0)
    return makeFieldError(ctx, "batch", "must be positive");
  if (tokensPerBlock == 0)
    return makeFieldError(ctx, "tokens_per_block", "must be positive");
  if (entryBytes() == 0)
    return makeFieldError(ctx, "entry_bytes", "KV entry size is zero");
  if (finalTokens() >= UINT32_MAX)
    return makeFieldError(ctx, "prompt+decode",
                          "more than 2^32-1 tokens per sequence");
  uint64_t blocks = blocksPerSeqLayer() * model.layers * batch;
  if (blocks >= UINT32_MAX)
    return makeFieldError(ctx, "tokens_per_block",
                          std::to_string(blocks) +
                              " blocks exceed the 32-bit block index; use "
                              "larger blocks");
  if (weightBytesPerLayerStep() < 0 || residentWeightBytes() < 0)
    return makeFieldError(ctx, "weights", "weight bytes must be >= 0");
  return llvm::Error::success();
}

bool Workload::hasWindows() const {
  for (unsigned w : model.slidingWindow)
    if (w)
      return true;
  return false;
}

Workload kvopt::makePaperWorkload(uint32_t promptLen, uint32_t decodeSteps) {
  Workload w;
  ModelConfig &m = w.model;
  m.name = "seed-llama-3.1-8b (MHA sizing)";
  m.modelType = "llama";
  m.attention = AttentionKind::MHA;
  m.layers = 32;
  m.hiddenSize = 4096;
  m.heads = 32;
  m.kvHeads = 32;
  m.headDim = 128;
  m.intermediateSize = 14000;
  m.vocabSize = 128256;
  m.slidingWindow.assign(32, 0);
  w.promptLen = promptLen;
  w.decodeSteps = decodeSteps;
  w.entryBytesOverride = kPaperEntryBytes;
  w.weightBytesPerLayerStepOverride = kPaperWeightBytesPerLayerStep;
  w.residentWeightBytesOverride = kPaperResidentWeightBytes;
  return w;
}
