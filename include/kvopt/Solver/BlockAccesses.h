//===- BlockAccesses.h - Per-block read-count changes of a trace -*- C++ -*-===//
//
// The solver needs, for every block, the decode steps at which the number of
// its tokens in the read set changes. Traces are read-set deltas, so this is
// O(trace changes) data: one 32-bit event per token added to or removed from
// a read set, grouped by block (compressed rows) and sorted by step. Memory
// is 4 bytes per change plus 8 per block; accesses are never enumerated.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_SOLVER_BLOCKACCESSES_H
#define KVOPT_SOLVER_BLOCKACCESSES_H

#include "kvopt/Core/Residency.h"
#include "kvopt/Core/Trace.h"
#include "kvopt/Core/Workload.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kvopt {
namespace solver {

/// Progress callback: (phase, fraction done in [0, 1]).
using ProgressFn = std::function<void(const std::string &, double)>;

class BlockAccesses {
public:
  /// Stream `trace` twice (through reopen()): once to count and validate,
  /// once to fill. Errors: a trace that does not match the workload, or
  /// invalid deltas (named by the trace reader or the tracker).
  static llvm::Expected<BlockAccesses>
  build(const TraceSource &trace, const Workload &work,
        const ProgressFn &progress = {});

  uint32_t layers() const { return nLayers; }
  uint32_t batch() const { return nBatch; }
  uint32_t promptLen() const { return prompt; }
  uint32_t decodeSteps() const { return decode; }
  uint32_t tokensPerBlock() const { return blockTokens; }
  uint64_t blocksPerSeqLayer() const { return perSeqLayer; }
  uint64_t totalBlocks() const { return offsets.size() - 1; }
  /// Sum of read-set sizes over all records (token accesses).
  uint64_t accesses() const { return nAccesses; }
  uint64_t totalEvents() const { return events.size(); }
  /// Token accesses of each decode step (all layers and sequences).
  uint64_t stepAccesses(uint32_t step) const { return perStep[step]; }

  uint32_t layerOf(BlockId b) const {
    return uint32_t((b / perSeqLayer) % nLayers);
  }
  uint32_t seqOf(BlockId b) const {
    return uint32_t(b / perSeqLayer / nLayers);
  }
  uint32_t firstToken(BlockId b) const {
    return uint32_t(b % perSeqLayer) * blockTokens;
  }

  /// First decode step at which block b is dead (its tokens all left its
  /// local layer's window; Workload::deathStep): it is read no more and
  /// holds no HBM slot from then on. 0 = never exists; UINT32_MAX = global.
  uint32_t deathStep(BlockId b) const {
    uint32_t l = layerOf(b);
    return Workload::deathStepOf(b % perSeqLayer, blockTokens, prompt,
                                 l < windows.size() ? windows[l] : 0);
  }

  /// Events of block b in step order; each is (step << 1) | isAdd, meaning
  /// one of its tokens joins (isAdd) or leaves the read set of its (layer,
  /// seq) at that decode step.
  llvm::ArrayRef<uint32_t> blockEvents(BlockId b) const {
    return llvm::ArrayRef<uint32_t>(events).slice(offsets[b],
                                                  offsets[b + 1] - offsets[b]);
  }
  static uint32_t eventStep(uint32_t ev) { return ev >> 1; }
  static bool eventIsAdd(uint32_t ev) { return ev & 1; }

  /// Bytes held (for reports).
  uint64_t memoryBytes() const {
    return events.capacity() * 4 + offsets.capacity() * 8;
  }

private:
  static llvm::Expected<BlockAccesses>
  buildOnePass(const TraceSource &trace, BlockAccesses a,
               const ProgressFn &progress);

  uint32_t nLayers = 0, nBatch = 0, prompt = 0, decode = 0, blockTokens = 1;
  uint64_t perSeqLayer = 0;
  uint64_t nAccesses = 0;
  std::vector<uint32_t> windows;
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> events;
  std::vector<uint64_t> perStep;
};

} // namespace solver
} // namespace kvopt

#endif // KVOPT_SOLVER_BLOCKACCESSES_H
