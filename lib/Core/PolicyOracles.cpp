//===- PolicyOracles.cpp - Policies that read the future of the trace ----===//
//
// The page oracle, the seed's lookahead (SA-guided) oracle and the
// Belady-style oracle. Each reopens the trace and reads it ahead of the
// simulator, keeping per block:
//   leadReads[b]  = tokens of b read at step n+1 (the next step of b's layer)
//   futureAdds[b] = tokens of b added by the deltas of steps n+2 .. n+W
// so "b is read within the next W steps" is leadReads > 0 || futureAdds > 0
// (a token read at some step k > n+1 but not at n+1 must be added at some
// step in (n+1, k]). Updates cost O(changes).
//
//===----------------------------------------------------------------------===//
#include "PolicySupport.h"
#include "kvopt/Core/Error.h"
#include "kvopt/Core/Policies.h"

#include <cmath>
#include <deque>
#include <numeric>
#include <set>

using namespace kvopt;
using namespace kvopt::detail;

namespace {

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
llvm::Error computeFirstUse(const SimContext &ctx,
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
llvm::Error firstUseInit(const SimContext &ctx, std::vector<BlockId> &hbm) {
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

/// Victim search depth in the cold list for the lookahead oracle; blocks
/// needed within the window are skipped, at most this many per search.
constexpr uint64_t kVictimScanLimit = 1024;

class LookaheadPolicy : public Policy {
public:
  LookaheadPolicy(uint32_t window, double fraction, bool page)
      : W(window), fraction(fraction), page(page) {}
  ResidencyFeatures features() const override { return {true, false}; }
  std::string name() const override {
    if (page)
      return "page";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "lookahead(W=%u,R=%.3g)", W, fraction);
    return buf;
  }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    if (auto e = lead.init(ctx, W))
      return e;
    if (page)
      staticFirstFit(ctx.res, hbm);
    else if (auto e = firstUseInit(ctx, hbm))
      return e;
    for (BlockId b : hbm)
      lead.setHbm(b, true);
    return llvm::Error::success();
  }

  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    if (auto e = lead.advance(info.step, info.layer, info.seq))
      return e;
    SlotBudget budget(ctx.res);
    auto victimOk = [&](BlockId b) {
      return lead.inHbm(b) && !lead.neededSoon(b);
    };
    auto makeRoom = [&]() {
      if (budget.hasFree()) {
        budget.take();
        return true;
      }
      BlockId v = budget.nextCold(victimOk, kVictimScanLimit);
      if (v == kNoBlock)
        return false;
      act.demote.push_back(v);
      lead.setHbm(v, false);
      return true;
    };
    if (info.opensBlock && makeRoom()) {
      act.newBlockInHbm = true;
      lead.setHbm(info.newBlock, true);
    }
    std::vector<BlockId> &cands = lead.missingNext(info.seq, info.layer);
    uint64_t want = uint64_t(std::ceil(fraction * double(cands.size())));
    // Walk from the back; setHbm() swap-removes the promoted block, so
    // skipped blocks (the new token's block, not yet cached) stay behind.
    for (size_t i = cands.size(); i-- > 0 && want;) {
      BlockId b = cands[i];
      if (!ctx.res.exists(b))
        continue;
      if (!makeRoom())
        break;
      act.promote.push_back(b);
      lead.setHbm(b, true);
      --want;
    }
    return llvm::Error::success();
  }

private:
  uint32_t W;
  double fraction;
  bool page;
  LeadTracker lead;
};

/// The seed's Reactive, quirks included (SEED-MODEL.md section 4): initial
/// placement by first future read (TokenLevelBestRatioInit); every missed
/// block is promoted; when HBM is full, *every* HBM block of that
/// (sequence, layer) is evicted (their eviction loop has no break) and the
/// promotions go on; a new block goes to HBM only while space remains.
/// Promotions made earlier in the same step and swept out by the eviction
/// are dropped rather than charged (the simulator cannot express a block
/// moved in and out within one step).
class SeedReactivePolicy : public Policy {
public:
  std::string name() const override { return "reactive-seed"; }
  ResidencyFeatures features() const override { return {false, true}; }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    return firstUseInit(ctx, hbm);
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    const Residency &res = ctx.res;
    uint64_t freeSlots = res.freeBlocks();
    bool swept = false;
    for (BlockId b : res.missing(info.seq, info.layer)) {
      if (freeSlots == 0) {
        if (swept)
          break; // the layer holds nothing more to evict
        swept = true;
        // Evict the whole (sequence, layer); earlier promotions of this
        // step belong to it too and are cancelled.
        freeSlots += act.promote.size();
        act.promote.clear();
        BlockId first = res.blockOf(info.seq, info.layer, 0);
        for (BlockId v = first; v < first + res.blocksPerSeqLayer(); ++v)
          if (res.exists(v) && res.inHbm(v)) {
            act.demote.push_back(v);
            ++freeSlots;
          }
        if (freeSlots == 0)
          break;
      }
      act.promote.push_back(b);
      --freeSlots;
    }
    act.newBlockInHbm = info.opensBlock && freeSlots > 0;
    return llvm::Error::success();
  }
};

class BeladyPolicy : public Policy {
public:
  explicit BeladyPolicy(uint64_t maxIntervals) : maxIntervals(maxIntervals) {}
  std::string name() const override { return "belady"; }
  ResidencyFeatures features() const override { return {false, false}; }

  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    if (auto e = buildStarts(ctx))
      return e;
    if (auto e = lead.init(ctx, 1))
      return e;
    if (auto e = firstUseInit(ctx, hbm))
      return e;
    key.assign(ctx.res.totalBlocks(), UINT32_MAX);
    for (BlockId b : hbm) {
      lead.setHbm(b, true);
      insertIdle(b, 0);
    }
    return llvm::Error::success();
  }

  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    if (auto e = lead.advance(info.step, info.layer, info.seq))
      return e;
    const uint32_t n1 = info.step + 1;
    for (BlockId b : lead.becameBusy)
      if (lead.inHbm(b))
        eraseIdle(b);
    for (BlockId b : lead.becameIdle)
      if (lead.inHbm(b))
        insertIdle(b, n1);
    // A block opened last call becomes evictable now (the simulator applies
    // demotions before placing a new block, so not in its own step).
    for (BlockId b : pendingNew)
      if (lead.inHbm(b))
        insertIdle(b, n1);
    pendingNew.clear();
    SlotBudget budget(ctx.res);
    // Make room for a block next used at `use`: a free slot, or evict the
    // idle block whose next use is furthest, if it is later than `use`.
    auto makeRoom = [&](uint32_t use) {
      if (budget.hasFree()) {
        budget.take();
        return true;
      }
      if (idle.empty())
        return false;
      auto last = std::prev(idle.end());
      if (last->first <= use)
        return false;
      BlockId v = last->second;
      idle.erase(last);
      key[v] = UINT32_MAX;
      act.demote.push_back(v);
      lead.setHbm(v, false);
      return true;
    };
    if (info.opensBlock) {
      uint32_t use = nextStart(info.newBlock, info.step);
      if (makeRoom(use)) {
        act.newBlockInHbm = true;
        lead.setHbm(info.newBlock, true);
        pendingNew.push_back(info.newBlock);
      }
    }
    std::vector<BlockId> &cands = lead.missingNext(info.seq, info.layer);
    for (size_t i = cands.size(); i-- > 0;) {
      BlockId b = cands[i];
      if (!ctx.res.exists(b))
        continue;
      if (!makeRoom(n1))
        break;
      act.promote.push_back(b);
      lead.setHbm(b, true);
    }
    return llvm::Error::success();
  }

private:
  /// Steps at which each block goes from unread to read, CSR by block.
  llvm::Error buildStarts(const SimContext &ctx) {
    const Residency &res = ctx.res;
    auto src = ctx.trace.reopen();
    if (!src)
      return src.takeError();
    std::vector<uint32_t> reads(res.totalBlocks(), 0);
    std::vector<std::pair<BlockId, uint32_t>> events;
    TraceRecord rec;
    while (true) {
      llvm::Expected<bool> more = (*src)->next(rec);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      for (uint32_t t : rec.removed)
        --reads[res.blockOf(rec.seq, rec.layer, t)];
      for (uint32_t t : rec.added) {
        BlockId b = res.blockOf(rec.seq, rec.layer, t);
        if (reads[b]++ == 0) {
          if (events.size() >= maxIntervals)
            return makeFieldError("policy 'belady'", "max_intervals",
                                  "the trace has more than " +
                                      std::to_string(maxIntervals) +
                                      " busy intervals; the exact oracle "
                                      "needs them all in memory (use larger "
                                      "blocks or a shorter trace)");
          events.push_back({b, rec.step});
        }
      }
    }
    offsets.assign(res.totalBlocks() + 1, 0);
    for (auto &e : events)
      offsets[e.first + 1]++;
    std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
    starts.resize(events.size());
    std::vector<uint64_t> fill(offsets.begin(), offsets.end() - 1);
    for (auto &e : events) // events are in step order per block
      starts[fill[e.first]++] = e.second;
    return llvm::Error::success();
  }
  /// First step > after at which b becomes read (UINT32_MAX if never).
  uint32_t nextStart(BlockId b, uint32_t after) const {
    auto first = starts.begin() + offsets[b],
         last = starts.begin() + offsets[b + 1];
    auto it = std::upper_bound(first, last, after);
    return it == last ? UINT32_MAX : *it;
  }
  void insertIdle(BlockId b, uint32_t now) {
    if (key[b] != UINT32_MAX || lead.neededNext(b))
      return;
    uint32_t k = nextStart(b, now);
    // Distinguish "never" (UINT32_MAX) from "not in the set" with k - 1.
    key[b] = k == UINT32_MAX ? UINT32_MAX - 1 : k;
    idle.insert({key[b], b});
  }
  void eraseIdle(BlockId b) {
    if (key[b] == UINT32_MAX)
      return;
    idle.erase({key[b], b});
    key[b] = UINT32_MAX;
  }

  uint64_t maxIntervals;
  LeadTracker lead;
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> starts;
  std::vector<uint32_t> key;
  std::set<std::pair<uint32_t, BlockId>> idle;
  std::vector<BlockId> pendingNew;
};

} // namespace

std::unique_ptr<Policy> kvopt::createPageOraclePolicy() {
  return std::make_unique<LookaheadPolicy>(1, 1.0, /*page=*/true);
}

std::unique_ptr<Policy> kvopt::createLookaheadPolicy(uint32_t window,
                                                     double fraction) {
  return std::make_unique<LookaheadPolicy>(window, fraction, /*page=*/false);
}

std::unique_ptr<Policy> kvopt::createBeladyPolicy(uint64_t maxIntervals) {
  return std::make_unique<BeladyPolicy>(maxIntervals);
}

std::unique_ptr<Policy> kvopt::createSeedReactivePolicy() {
  return std::make_unique<SeedReactivePolicy>();
}
