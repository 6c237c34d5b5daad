//===- Lookahead.h - Future knowledge for oracle policies -------*- C++ -*-===//
//
// Internal to lib/Core. Oracle policies reopen the trace and read it ahead
// of the simulator, keeping per block:
//   leadReads[b]  = tokens of b read at step n+1 (the next step of b's layer)
//   futureAdds[b] = tokens of b added by the deltas of steps n+2 .. n+W
// so "b is read within the next W steps" is leadReads > 0 || futureAdds > 0
// (a token read at some step k > n+1 but not at n+1 must be added at some
// step in (n+1, k]). Updates cost O(changes).
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_CORE_LOOKAHEAD_H
#define KVOPT_LIB_CORE_LOOKAHEAD_H

#include "PolicySupport.h"
#include "kvopt/Core/Error.h"

#include <deque>

namespace kvopt {
namespace detail {

/// Buffered forward reader over a reopened trace, addressable by record.
class LookaheadReader {
public:
  struct Rec {
    std::vector<uint32_t> added, removed;
  };

  llvm::Error open(const TraceSource &trace) {
    auto src = trace.reopen();
    if (!src)
      return src.takeError();
    in = std::move(*src);
    h = in->header();
    return llvm::Error::success();
  }

  /// The record (step, layer, seq), or nullptr past the end of the trace.
  llvm::Expected<const Rec *> get(uint32_t step, uint32_t layer, uint32_t seq) {
    if (step >= h.decodeSteps)
      return nullptr;
    uint64_t idx = (uint64_t(step) * h.layers + layer) * h.batch + seq;
    while (base + buf.size() <= idx) {
      TraceRecord rec;
      llvm::Expected<bool> more = in->next(rec);
      if (!more)
        return more.takeError();
      if (!*more)
        return makeFieldError(in->describe(), "record",
                              "lookahead reader: trace ended early");
      buf.push_back({rec.added.vec(), rec.removed.vec()});
    }
    if (idx < base)
      return makeFieldError(in->describe(), "record",
                            "lookahead reader: record already dropped");
    return &buf[idx - base];
  }
  /// Forget records before (step, layer, seq).
  void dropBefore(uint32_t step, uint32_t layer, uint32_t seq) {
    uint64_t idx = (uint64_t(step) * h.layers + layer) * h.batch + seq;
    while (base < idx && !buf.empty()) {
      buf.pop_front();
      ++base;
    }
  }

private:
  std::unique_ptr<TraceSource> in;
  TraceHeader h;
  std::deque<Rec> buf;
  uint64_t base = 0;
};

/// Next-step and window knowledge, plus a shadow of the HBM residency that
/// includes the actions decided but not yet applied.
class LeadTracker {
public:
  llvm::Error init(const SimContext &ctx, uint32_t window) {
    W = window;
    const Residency &res = ctx.res;
    leadReads.assign(res.totalBlocks(), 0);
    futureAdds.assign(res.totalBlocks(), 0);
    hbm.assign(res.totalBlocks(), 0);
    leadMissingPos.assign(res.totalBlocks(), 0);
    leadMissing.assign(uint64_t(res.layers()) * res.batch(), {});
    layers = res.layers();
    perSeqLayer = res.blocksPerSeqLayer();
    blockTokens = res.tokensPerBlock();
    return reader.open(ctx.trace);
  }

  /// Move the window to call (step, layer, seq).
  llvm::Error advance(uint32_t step, uint32_t layer, uint32_t seq) {
    becameBusy.clear();
    becameIdle.clear();
    if (step == 0) {
      for (uint32_t k = 0; k <= 1; ++k)
        if (auto e = applyLead(k, layer, seq))
          return e;
      for (uint32_t k = 2; k <= W; ++k)
        if (auto e = window(k, layer, seq, +1))
          return e;
    } else {
      if (auto e = window(step + W, layer, seq, +1))
        return e;
      if (auto e = window(step + 1, layer, seq, -1))
        return e;
      if (auto e = applyLead(step + 1, layer, seq))
        return e;
    }
    reader.dropBefore(step, layer, seq);
    return llvm::Error::success();
  }

  bool neededSoon(BlockId b) const { return leadReads[b] || futureAdds[b]; }
  bool neededNext(BlockId b) const { return leadReads[b] != 0; }
  bool inHbm(BlockId b) const { return hbm[b] != 0; }
  std::vector<BlockId> &missingNext(uint32_t seq, uint32_t layer) {
    return leadMissing[uint64_t(seq) * layers + layer];
  }
  void setHbm(BlockId b, bool in) {
    if (bool(hbm[b]) == in)
      return;
    hbm[b] = in;
    if (leadReads[b]) {
      if (in)
        missingRemove(b);
      else
        missingAdd(b);
    }
  }
  /// Blocks whose leadReads went 0 -> >0 / >0 -> 0 in the last advance().
  std::vector<BlockId> becameBusy, becameIdle;

private:
  BlockId blockOf(uint32_t seq, uint32_t layer, uint32_t token) const {
    return BlockId((uint64_t(seq) * layers + layer) * perSeqLayer +
                   token / blockTokens);
  }
  llvm::Error window(uint32_t k, uint32_t layer, uint32_t seq, int sign) {
    if (k < 2 || W < 2)
      return llvm::Error::success();
    auto rec = reader.get(k, layer, seq);
    if (!rec)
      return rec.takeError();
    if (!*rec)
      return llvm::Error::success();
    for (uint32_t t : (*rec)->added)
      futureAdds[blockOf(seq, layer, t)] += sign;
    return llvm::Error::success();
  }
  llvm::Error applyLead(uint32_t k, uint32_t layer, uint32_t seq) {
    auto rec = reader.get(k, layer, seq);
    if (!rec)
      return rec.takeError();
    if (!*rec)
      return llvm::Error::success();
    for (uint32_t t : (*rec)->removed) {
      BlockId b = blockOf(seq, layer, t);
      if (--leadReads[b] == 0) {
        becameIdle.push_back(b);
        if (!hbm[b])
          missingRemove(b);
      }
    }
    for (uint32_t t : (*rec)->added) {
      BlockId b = blockOf(seq, layer, t);
      if (leadReads[b]++ == 0) {
        becameBusy.push_back(b);
        if (!hbm[b])
          missingAdd(b);
      }
    }
    return llvm::Error::success();
  }
  void missingAdd(BlockId b) {
    auto &list = leadMissing[b / perSeqLayer];
    leadMissingPos[b] = uint32_t(list.size());
    list.push_back(b);
  }
  void missingRemove(BlockId b) {
    auto &list = leadMissing[b / perSeqLayer];
    uint32_t i = leadMissingPos[b];
    list[i] = list.back();
    leadMissingPos[list[i]] = i;
    list.pop_back();
  }

  uint32_t W = 1, layers = 0, blockTokens = 1;
  uint64_t perSeqLayer = 0;
  LookaheadReader reader;
  std::vector<uint32_t> leadReads;
  std::vector<int32_t> futureAdds;
  std::vector<uint8_t> hbm;
  std::vector<uint32_t> leadMissingPos;
  std::vector<std::vector<BlockId>> leadMissing;
};

/// First step at which each block is read (UINT32_MAX if never): one pass
/// over a reopened trace.
inline llvm::Error computeFirstUse(const SimContext &ctx,
                                   std::vector<uint32_t> &first) {
  const Residency &res = ctx.res;
  first.assign(res.totalBlocks(), UINT32_MAX);
  auto src = ctx.trace.reopen();
  if (!src)
    return src.takeError();
  TraceRecord rec;
  while (true) {
    llvm::Expected<bool> more = (*src)->next(rec);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    for (uint32_t t : rec.added) {
      BlockId b = res.blockOf(rec.seq, rec.layer, t);
      if (first[b] == UINT32_MAX)
        first[b] = rec.step;
    }
  }
  return llvm::Error::success();
}

/// TokenLevelBestRatioInit: prompt blocks in order of first read, then the
/// never-read ones, until HBM is full.
inline llvm::Error firstUseInit(const SimContext &ctx,
                                std::vector<BlockId> &hbm) {
  std::vector<uint32_t> first;
  if (auto e = computeFirstUse(ctx, first))
    return e;
  std::vector<BlockId> order;
  forEachPromptBlockTokenMajor(ctx.res, [&](BlockId b) {
    order.push_back(b);
    return true;
  });
  std::stable_sort(order.begin(), order.end(),
                   [&](BlockId a, BlockId b) { return first[a] < first[b]; });
  uint64_t cap = ctx.res.capacityBlocks();
  for (BlockId b : order) {
    if (hbm.size() >= cap || first[b] == UINT32_MAX)
      break;
    hbm.push_back(b);
  }
  return llvm::Error::success();
}

} // namespace detail
} // namespace kvopt

#endif // KVOPT_LIB_CORE_LOOKAHEAD_H
