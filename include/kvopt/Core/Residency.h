//===- Residency.h - Where every KV block lives, during a run ---*- C++ -*-===//
//
// The simulator's state, readable by policies. Blocks are numbered densely:
// block (seq b, layer l, index k) = (b * layers + l) * blocksPerSeqLayer + k,
// covering tokens [k * tokensPerBlock, (k+1) * tokensPerBlock). Besides the
// tier of each block it keeps, in O(1) per change:
//  * readCount(block): tokens of the block in the current read set;
//  * per (seq, layer): read-set size and HBM hits;
//  * the cold list: HBM blocks with readCount 0, least recently read first;
//  * the missing set: DRAM blocks with readCount > 0.
// Local (sliding-window) layers: the leading blocks of a (seq, layer) whose
// tokens all left the window are dead; a dead block does not exist, holds no
// HBM slot and cannot move (docs/model.md, "Sliding-window (local) layers").
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CORE_RESIDENCY_H
#define KVOPT_CORE_RESIDENCY_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace kvopt {

using BlockId = uint32_t;
constexpr BlockId kNoBlock = ~BlockId(0);

/// The optional, per-change bookkeeping a policy reads. Policies that never
/// look at the cold list or the missing sets switch them off: the simulator
/// is then about twice as fast (fewer random memory accesses per change).
struct ResidencyFeatures {
  bool coldList = true;
  bool missingSets = true;
};

class Residency {
public:
  Residency(uint32_t layers, uint32_t batch, uint32_t tokensPerBlock,
            uint64_t blocksPerSeqLayer, uint64_t capacityBlocks,
            ResidencyFeatures features = {},
            std::vector<uint32_t> layerWindows = {});
  const ResidencyFeatures &features() const { return feat; }

  uint32_t layers() const { return nLayers; }
  uint32_t batch() const { return nBatch; }
  uint32_t tokensPerBlock() const { return blockTokens; }
  uint64_t blocksPerSeqLayer() const { return perSeqLayer; }
  uint64_t totalBlocks() const { return state.size(); }

  BlockId blockOf(uint32_t seq, uint32_t layer, uint32_t token) const {
    // A shift for power-of-two block sizes (the common 1 and 16): this runs
    // for every change of every read set.
    uint32_t k = blockShift < 32 ? token >> blockShift : token / blockTokens;
    return BlockId((uint64_t(seq) * nLayers + layer) * perSeqLayer + k);
  }
  uint32_t layerOf(BlockId b) const {
    return uint32_t((b / perSeqLayer) % nLayers);
  }
  uint32_t seqOf(BlockId b) const {
    return uint32_t(b / perSeqLayer / nLayers);
  }
  uint32_t indexOf(BlockId b) const { return uint32_t(b % perSeqLayer); }
  /// First token of a block.
  uint32_t firstToken(BlockId b) const { return indexOf(b) * blockTokens; }

  /// Tokens cached before the current step (prompt + completed steps).
  uint32_t tokens() const { return nTokens; }
  /// Tokens cached now in (seq, layer): tokens(), plus one once this step's
  /// token has been appended to that layer.
  uint32_t tokensIn(uint32_t seq, uint32_t layer) const {
    return chainTokens[uint64_t(seq) * nLayers + layer];
  }
  /// Whether the block holds at least one cached token and is not dead.
  bool exists(BlockId b) const {
    return firstToken(b) < chainTokens[b / perSeqLayer] &&
           indexOf(b) >= deadBlocks[b / perSeqLayer];
  }
  /// Whether the block's tokens all left its local layer's window.
  bool isDead(BlockId b) const {
    return indexOf(b) < deadBlocks[b / perSeqLayer];
  }
  /// Window of a layer in tokens (0 = global).
  uint32_t windowOf(uint32_t layer) const {
    return layer < windows.size() ? windows[layer] : 0;
  }
  /// Leading dead blocks of (seq, layer).
  uint64_t deadIn(uint32_t seq, uint32_t layer) const {
    return deadBlocks[uint64_t(seq) * nLayers + layer];
  }
  /// Entries (tokens) the block holds now.
  uint32_t entriesIn(BlockId b) const;

  bool inHbm(BlockId b) const { return (state[b] & kHbmBit) != 0; }
  uint32_t readCount(BlockId b) const { return state[b] & ~kHbmBit; }
  uint64_t hbmBlocks() const { return nHbm; }
  uint64_t capacityBlocks() const { return capacity; }
  uint64_t freeBlocks() const { return nHbm >= capacity ? 0 : capacity - nHbm; }

  uint64_t readSetSize(uint32_t seq, uint32_t layer) const {
    return setSize[uint64_t(seq) * nLayers + layer];
  }
  uint64_t hits(uint32_t seq, uint32_t layer) const {
    return hitCount[uint64_t(seq) * nLayers + layer];
  }
  /// Whether `token` of (seq, layer) is in the current read set.
  bool isRead(uint32_t seq, uint32_t layer, uint32_t token) const;

  /// Cold list: least recently read resident block first; kNoBlock at end
  /// (empty unless features().coldList).
  BlockId coldHead() const { return coldFirst; }
  BlockId coldNext(BlockId b) const { return next[b]; }
  bool isCold(BlockId b) const { return state[b] == kHbmBit; }
  uint64_t coldSize() const { return nCold; }
  /// DRAM blocks of (seq, layer) with at least one token in the current
  /// read set (any order; empty unless features().missingSets).
  llvm::ArrayRef<BlockId> missing(uint32_t seq, uint32_t layer) const {
    return missingLists[uint64_t(seq) * nLayers + layer];
  }

private:
  friend class Simulator;
  void setTokens(uint32_t n) {
    nTokens = n;
    chainTokens.assign(chainTokens.size(), n);
  }
  void appendToken(uint32_t seq, uint32_t layer) {
    chainTokens[uint64_t(seq) * nLayers + layer]++;
  }
  /// Mark the first `n` blocks of (seq, layer) dead; dead HBM blocks leave
  /// HBM at no cost. Returns a block still read (kNoBlock when none).
  BlockId killBelow(uint32_t seq, uint32_t layer, uint64_t n);
  void addRead(uint32_t seq, uint32_t layer, uint32_t token);
  void removeRead(uint32_t seq, uint32_t layer, uint32_t token);
  void moveToHbm(BlockId b);
  void moveToDram(BlockId b);
  void coldPush(BlockId b);
  void coldUnlink(BlockId b);
  void missingAdd(BlockId b);
  void missingRemove(BlockId b);

  ResidencyFeatures feat;
  uint32_t nLayers, nBatch, blockTokens;
  /// log2(blockTokens) when it is a power of two, else 32.
  uint32_t blockShift = 32;
  uint64_t perSeqLayer, capacity;
  uint32_t nTokens = 0;
  uint64_t nHbm = 0, nCold = 0;
  uint64_t wordsPerSet;
  std::vector<uint64_t> readBits;
  /// Per block: the read count, and the tier in the top bit (one memory
  /// access per change instead of two).
  static constexpr uint32_t kHbmBit = 0x80000000u;
  std::vector<uint32_t> state;
  std::vector<BlockId> prev, next;
  BlockId coldFirst = kNoBlock, coldLast = kNoBlock;
  std::vector<uint32_t> missingPos;
  std::vector<std::vector<BlockId>> missingLists;
  std::vector<uint64_t> setSize, hitCount;
  std::vector<uint32_t> chainTokens;
  std::vector<uint32_t> windows;
  std::vector<uint64_t> deadBlocks;
};

} // namespace kvopt

#endif // KVOPT_CORE_RESIDENCY_H
