//===- Workload.h - What is decoded, and at which granularity ---*- C++ -*-===//
//
// A workload fixes the model, the prompt and decode lengths, the batch
// (sequences sharing one HBM), the block granularity of placement decisions,
// and the sizes charged by the time model. Paper mode overrides the entry
// size (16 KiB, the seed's MHA sizing) and the per-step weight term.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_WORKLOAD_H
#define KVOPT_CORE_WORKLOAD_H

#include "kvopt/Core/ModelConfig.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kvopt {

/// The seed's entry size: 2 * d * dtype = 2 * 4096 * 2 bytes.
constexpr uint64_t kPaperEntryBytes = 16384;
/// The seed's weight bytes read per (token, layer): 4*d^2*2 + 2*d*d_ff*2/8.
constexpr double kPaperWeightBytesPerLayerStep = 162889728.0;
/// The seed's resident weights: para_num (8, billions) * 1e9 * 2 bytes.
constexpr double kPaperResidentWeightBytes = 16e9;

struct Workload {
  ModelConfig model;
  /// Prompt tokens 0..promptLen-1 are cached before the first decode step.
  uint32_t promptLen = 0;
  /// Decode steps; step i decodes absolute token promptLen + i.
  uint32_t decodeSteps = 0;
  /// Sequences decoded together; they share HBM.
  uint32_t batch = 1;
  /// Placement granularity in tokens (1 = token-granular, 16 = Quest pages).
  uint32_t tokensPerBlock = 1;
  /// When nonzero, overrides the model's KV bytes per token per layer
  /// (paper mode: kPaperEntryBytes).
  uint64_t entryBytesOverride = 0;
  /// When >= 0, overrides the weight bytes read per layer step
  /// (paper mode: kPaperWeightBytesPerLayerStep).
  double weightBytesPerLayerStepOverride = -1;
  /// When >= 0, overrides the weight bytes resident in HBM
  /// (paper mode: kPaperResidentWeightBytes).
  double residentWeightBytesOverride = -1;

  /// KV bytes of one token in one layer of one sequence.
  uint64_t entryBytes() const;
  /// Bytes of one block.
  uint64_t blockBytes() const { return entryBytes() * tokensPerBlock; }
  /// Weight bytes read from HBM in every (step, layer); MoE layers read the
  /// experts a step of `batch` tokens is expected to touch.
  double weightBytesPerLayerStep() const;
  /// Weight bytes that occupy HBM for the whole run.
  double residentWeightBytes() const;
  /// Total tokens a sequence holds at the end (prompt + decoded).
  uint64_t finalTokens() const { return uint64_t(promptLen) + decodeSteps; }
  /// Blocks of one (sequence, layer) at the end of the run.
  uint64_t blocksPerSeqLayer() const {
    return (finalTokens() + tokensPerBlock - 1) / tokensPerBlock;
  }

  /// Window of layer `l` in tokens; 0 = global attention (no window).
  uint32_t windowOf(uint32_t l) const {
    return l < model.slidingWindow.size() ? model.slidingWindow[l] : 0;
  }
  /// Whether any layer has a window (docs/model.md, "Sliding-window (local)
  /// layers").
  bool hasWindows() const;
  /// Window semantics: decode step i of a local layer (window w) reads only
  /// tokens in [P + i - w, P + i); a block whose tokens all precede P + i - w
  /// is dead from that step's record of its (sequence, layer) on, and a dead
  /// block holds no HBM slot. Number of leading blocks of a (sequence, layer)
  /// of layer `l` that are dead at decode step `step` (0 for global layers).
  uint64_t deadBlocksAt(uint32_t l, uint64_t step) const {
    uint64_t w = windowOf(l), n = uint64_t(promptLen) + step;
    return w && n > w ? (n - w) / tokensPerBlock : 0;
  }
  /// First decode step at which block `k` of a (sequence, layer) of layer
  /// `l` is dead; 0 = dead before decoding starts (never exists), UINT32_MAX
  /// for global layers. Steps past the run mean it outlives the run.
  uint32_t deathStep(uint32_t l, uint64_t k) const {
    return deathStepOf(k, tokensPerBlock, promptLen, windowOf(l));
  }
  /// deathStep for block `k` of `tokensPerBlock`-token blocks, a prompt of
  /// `prompt` tokens and a window of `window` tokens (0 = global).
  static uint32_t deathStepOf(uint64_t k, uint32_t tokensPerBlock,
                              uint32_t prompt, uint32_t window) {
    if (!window)
      return UINT32_MAX;
    uint64_t d = (k + 1) * tokensPerBlock + window;
    if (d <= prompt)
      return 0;
    d -= prompt;
    return d >= UINT32_MAX ? UINT32_MAX - 1 : uint32_t(d);
  }
  /// First token a local layer may read at decode step `step` (0 for global).
  uint32_t windowStart(uint32_t l, uint64_t step) const {
    uint64_t w = windowOf(l), n = uint64_t(promptLen) + step;
    return w && n > w ? uint32_t(n - w) : 0;
  }

  /// Check the workload (nonzero lengths, layers, block size, sizes that fit
  /// the 32-bit token and block indices); errors name the field.
  llvm::Error validate() const;
};

/// The seed's study: Llama-3.1-8B-shaped, 32 layers, paper-mode entries and
/// weights, with the given lengths (31,299 / 10,239 in the paper).
Workload makePaperWorkload(uint32_t promptLen = 31299,
                           uint32_t decodeSteps = 10239);

} // namespace kvopt

#endif // KVOPT_CORE_WORKLOAD_H
