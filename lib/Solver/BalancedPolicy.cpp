//===- BalancedPolicy.cpp - A schedule that keeps every step balanced -----===//
#include "kvopt/Solver/BalancedPolicy.h"

#include <algorithm>
#include <cmath>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

class BalancedPolicy : public Policy {
public:
  BalancedPolicy(const BlockAccesses &acc, const ResourceCosts &costs,
                 const BalancedOptions &o)
      : acc(acc), costs(costs), opt(o) {}

  std::string name() const override { return "balanced-oracle"; }
  /// The cold list (victims); the missing sets are found by a scan (step).
  ResidencyFeatures features() const override { return {true, false}; }

  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    const uint64_t N = acc.totalBlocks();
    cursor.assign(N, 0);
    endStep.assign(N, kUnknown);
    // Start with the blocks read at step 0, longest stay first, up to the
    // balanced hits of each (layer, seq) and the capacity.
    const uint64_t keys = uint64_t(acc.layers()) * acc.batch();
    std::vector<std::vector<std::pair<uint32_t, BlockId>>> cand(keys);
    std::vector<double> reads(keys, 0);
    for (uint64_t j = 0; j < N; ++j) {
      auto ev = acc.blockEvents(BlockId(j));
      if (acc.firstToken(BlockId(j)) >= acc.promptLen())
        continue;
      uint32_t c = 0;
      for (uint32_t e : ev) {
        if (BlockAccesses::eventStep(e) != 0)
          break;
        c += BlockAccesses::eventIsAdd(e) ? 1 : uint32_t(-1);
      }
      if (c == 0)
        continue;
      uint64_t key = uint64_t(acc.seqOf(BlockId(j))) * acc.layers() +
                     acc.layerOf(BlockId(j));
      reads[key] += c;
      cand[key].push_back({stayFrom(BlockId(j), 0), BlockId(j)});
    }
    uint64_t cap = ctx.res.capacityBlocks();
    std::vector<std::pair<uint32_t, BlockId>> all;
    for (uint64_t key = 0; key < keys; ++key) {
      auto &c = cand[key];
      std::stable_sort(c.begin(), c.end(),
                       [](auto &a, auto &b) { return a.first > b.first; });
      double target = balancedHits(reads[key], acc.batch());
      size_t take = std::min<size_t>(
          c.size(), size_t(std::ceil(target / acc.tokensPerBlock())));
      all.insert(all.end(), c.begin(), c.begin() + take);
    }
    std::stable_sort(all.begin(), all.end(),
                     [](auto &a, auto &b) { return a.first > b.first; });
    for (auto &c : all) {
      if (hbm.size() >= cap)
        break;
      hbm.push_back(c.second);
    }
    return llvm::Error::success();
  }

  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    const Residency &res = ctx.res;
    const double B = res.batch();
    const double reads = double(res.readSetSize(info.seq, info.layer));
    const double hits = double(res.hits(info.seq, info.layer));
    // This record's share of its group: resource seconds so far.
    double tH = costs.weights[0] / B + hits * costs.hit[0];
    double tLink = (reads - hits) * costs.miss[2];
    double tDram = (reads - hits) * costs.miss[1];
    double deficit = balancedHits(reads, B) - hits;
    // New block: HBM when there is room and the hits are below target.
    int64_t free = int64_t(res.freeBlocks());
    if (info.opensBlock) {
      act.newBlockInHbm = free > 0 && deficit > 0;
      if (act.newBlockInHbm)
        --free;
    }
    if (deficit <= 0)
      return llvm::Error::success();
    // Promotions within the link's idle time cost (almost) nothing now.
    double slackLink = tH - std::max(tLink, tDram);
    double perProm = std::max(costs.promote[1], costs.promote[2]) -
                     costs.promote[0];
    double slackProms = slackLink > 0 ? slackLink / perProm : 0;
    // Without a free slot the loop below starts by looking for a victim; if
    // the cold list holds none it takes nothing, whatever the candidates
    // are. Checking that first skips the scan of the missing set (at 40 %
    // sparsity at seed scale the HBM is full of read blocks in about 94 %
    // of the records, and the scan was most of the run).
    if (free <= 0 && firstVictim(res, info, act, act.demote.size()) == kNoBlock)
      return llvm::Error::success();
    // Candidates: the (seq, layer)'s DRAM blocks in the read set (the
    // missing set), by remaining stay. The residency keeps no missing lists
    // for this policy (features()): a scan of the chain's block states, in
    // block order, at the records that get here costs less than keeping the
    // lists at every change of every read set. The order of the scan does
    // not matter: the selection below is by a strict total order.
    cand.clear();
    size_t longStays = 0;
    const BlockId base = res.blockOf(info.seq, info.layer, 0);
    const uint32_t T = std::max(1u, res.tokensPerBlock());
    const uint64_t held =
        (uint64_t(res.tokensIn(info.seq, info.layer)) + T - 1) / T;
    const uint64_t nb = std::min<uint64_t>(res.blocksPerSeqLayer(), held);
    const uint32_t from = info.step + 1;
    auto consider = [&](BlockId b, uint32_t stay) {
      if (stay >= opt.minStay) {
        cand.push_back({stay, b});
        longStays += stay >= opt.minStayBeyondSlack;
      }
    };
    // Blocks whose cached stay end is still valid are taken at once; the
    // others need their event lists (a cache miss each, most of this
    // loop's time), so they are collected and read with prefetches ahead.
    stale.clear();
    for (uint64_t k = res.deadIn(info.seq, info.layer); k < nb; ++k) {
      BlockId b = BlockId(base + k);
      if (res.inHbm(b) || res.readCount(b) == 0)
        continue;
      uint32_t cached = endStep[b];
      if (cached == kUnknown || from > cached) {
        stale.push_back(b);
        continue;
      }
      consider(b, cached > from ? cached - from : 0);
    }
    for (size_t i = 0, n = stale.size(); i < n; ++i) {
      if (i + kPrefetch < n) {
        BlockId p = stale[i + kPrefetch];
        __builtin_prefetch(acc.blockEvents(p).data() + cursor[p]);
      }
      consider(stale[i], stayFrom(stale[i], from));
    }
    size_t want = size_t(std::ceil(deficit / std::max(1u, res.tokensPerBlock())));
    want = std::min(want, cand.size());
    // The loop below takes the k-th best candidate only while k < slackProms
    // or its stay is at least minStayBeyondSlack; in the sorted order those
    // with a long stay come first, so only the first max(long, ceil(slack))
    // candidates can be taken and only they need sorting.
    double slackCeil = std::ceil(slackProms);
    size_t slackN = std::isnan(slackCeil)               ? cand.size()
                    : !(slackCeil > 0)                   ? 0
                    : slackCeil >= double(cand.size()) ? cand.size()
                                                       : size_t(slackCeil);
    size_t reach = std::max(longStays, slackN);
    want = std::min(want, reach);
    if (want == 0)
      return llvm::Error::success();
    // Longest stay first, ties by block id: a strict total order, so the
    // selected prefix and its order do not depend on the algorithm (a
    // selection then a sort of the prefix: a heap over thousands of
    // candidates was the policy's largest cost at full scale).
    auto longer = [](const std::pair<uint32_t, BlockId> &a,
                     const std::pair<uint32_t, BlockId> &b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    if (want < cand.size())
      std::nth_element(cand.begin(), cand.begin() + want, cand.end(), longer);
    std::sort(cand.begin(), cand.begin() + want, longer);
    BlockId victim = res.coldHead();
    // The walk below moves forward along the cold list (which does not
    // change during this record) and never returns to a victim it took, so
    // only demotions already in `act` on entry need the membership check
    // (a scan of all of them made the loop quadratic in the promotions).
    const size_t givenDemotions = act.demote.size();
    double used = 0;
    for (size_t k = 0; k < want; ++k) {
      if (used >= slackProms && cand[k].first < opt.minStayBeyondSlack)
        break;
      if (free <= 0) {
        // Evict a block no one reads now, least recently read first.
        victim = nextVictim(res, info, act, givenDemotions, victim);
        if (victim == kNoBlock)
          break;
        act.demote.push_back(victim);
        victim = res.coldNext(victim);
        ++free;
      }
      act.promote.push_back(cand[k].second);
      --free;
      used += 1;
    }
    return llvm::Error::success();
  }

private:
  /// Hits that balance a read of `reads` entries of one record: weights/B +
  /// h hits on HBM against (n - h) misses on the slower link resource.
  double balancedHits(double reads, double B) const {
    double missT = std::max(costs.miss[1], costs.miss[2]);
    double h = (reads * missT - costs.weights[0] / B) / (costs.hit[0] + missT);
    return std::clamp(h * opt.targetScale, 0.0, reads);
  }

  /// The first block from `victim` on along the cold list that the loop in
  /// step() may evict: not the record's new block and not among the first
  /// `given` demotions of `act`; kNoBlock when there is none.
  static BlockId nextVictim(const Residency &res, const StepInfo &info,
                            const StepActions &act, size_t given,
                            BlockId victim) {
    while (victim != kNoBlock &&
           (victim == info.newBlock || isDemoted(act, given, victim)))
      victim = res.coldNext(victim);
    return victim;
  }
  static BlockId firstVictim(const Residency &res, const StepInfo &info,
                             const StepActions &act, size_t given) {
    return nextVictim(res, info, act, given, res.coldHead());
  }

  /// Whether b is among the first `n` demotions of `act`.
  static bool isDemoted(const StepActions &act, size_t n, BlockId b) {
    auto end = act.demote.begin() + n;
    return std::find(act.demote.begin(), end, b) != end;
  }

  /// Steps from `step` until block b's read count next changes (its stay
  /// in the read set, for token blocks); advances b's cursor.
  ///
  /// The step `end` at which the stay ends is the same for every query step
  /// s <= end (the cursor then stops at or before that event, and only adds
  /// lie between), so it is cached per block and recomputed only when the
  /// query passes it: one 4-byte read per candidate instead of the cursor,
  /// the offsets and the events.
  uint32_t stayFrom(BlockId b, uint32_t step) {
    uint32_t &cached = endStep[b];
    if (cached == kUnknown || step > cached)
      cached = stayEnd(b, step);
    return cached > step ? cached - step : 0;
  }

  /// The step at which block b's stay from `step` ends; advances b's cursor.
  uint32_t stayEnd(BlockId b, uint32_t step) {
    auto ev = acc.blockEvents(b);
    uint64_t &c = cursor[b];
    while (c < ev.size() && BlockAccesses::eventStep(ev[c]) < step)
      ++c;
    uint64_t k = c;
    while (k < ev.size() && BlockAccesses::eventIsAdd(ev[k]))
      ++k;
    return k < ev.size() ? BlockAccesses::eventStep(ev[k]) : acc.decodeSteps();
  }

  static constexpr uint32_t kUnknown = UINT32_MAX;
  /// How far ahead the stale blocks' event lists are prefetched.
  static constexpr size_t kPrefetch = 8;

  const BlockAccesses &acc;
  ResourceCosts costs;
  BalancedOptions opt;
  std::vector<uint64_t> cursor;
  /// Per block: the step its current stay ends (stayFrom), or kUnknown.
  std::vector<uint32_t> endStep;
  std::vector<std::pair<uint32_t, BlockId>> cand;
  std::vector<BlockId> stale;
};

} // namespace

std::unique_ptr<Policy>
kvopt::solver::createBalancedPolicy(const BlockAccesses &accesses,
                                    const ResourceCosts &costs,
                                    const BalancedOptions &options) {
  return std::make_unique<BalancedPolicy>(accesses, costs, options);
}
