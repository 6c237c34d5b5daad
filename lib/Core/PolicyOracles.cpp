//===- PolicyOracles.cpp - Policies that read the future of the trace ----===//
//
// The page oracle, the seed's lookahead (SA-guided) oracle and the
// Belady-style oracle; their knowledge of the future comes from Lookahead.h.
//
//===----------------------------------------------------------------------===//
#include "Lookahead.h"
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
