//===- ReferenceBalancedPolicy.h - The balanced oracle as first written -*- C++ -*-===//
//
// A verbatim copy of the balanced oracle (BalancedPolicy.cpp) as it was
// before its speed-ups: a per-record rescan of every missing block's events
// and a partial sort of all candidates. BalancedPolicyTest runs it next to
// the library's policy and requires the same schedule, move for move;
// bench/solver/BalancedBench.cpp measures both in the same run.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_UNITTESTS_SOLVER_REFERENCEBALANCEDPOLICY_H
#define KVOPT_UNITTESTS_SOLVER_REFERENCEBALANCEDPOLICY_H

#include "kvopt/Core/Policy.h"
#include "kvopt/Solver/BalancedPolicy.h"
#include "kvopt/Solver/BlockAccesses.h"
#include "kvopt/Solver/ResourceCosts.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvopt {
namespace solver {
namespace reference {

/// The balanced oracle before the speed-ups (a per-record rescan of every
/// missing block's events and a partial sort of all candidates).
class ReferenceBalancedPolicy : public Policy {
public:
  ReferenceBalancedPolicy(const BlockAccesses &acc, const ResourceCosts &costs,
                 const BalancedOptions &o)
      : acc(acc), costs(costs), opt(o) {}

  std::string name() const override { return "balanced-oracle"; }

  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    const uint64_t N = acc.totalBlocks();
    cursor.assign(N, 0);
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
    // Candidates: missing blocks, by remaining stay.
    cand.clear();
    for (BlockId b : res.missing(info.seq, info.layer)) {
      uint32_t stay = stayFrom(b, info.step + 1);
      if (stay >= opt.minStay)
        cand.push_back({stay, b});
    }
    size_t want = size_t(std::ceil(deficit / std::max(1u, res.tokensPerBlock())));
    want = std::min(want, cand.size());
    if (want == 0)
      return llvm::Error::success();
    std::partial_sort(cand.begin(), cand.begin() + want, cand.end(),
                      [](auto &a, auto &b) {
                        return a.first != b.first ? a.first > b.first
                                                  : a.second < b.second;
                      });
    BlockId victim = res.coldHead();
    double used = 0;
    for (size_t k = 0; k < want; ++k) {
      if (used >= slackProms && cand[k].first < opt.minStayBeyondSlack)
        break;
      if (free <= 0) {
        // Evict a block no one reads now, least recently read first.
        while (victim != kNoBlock &&
               (victim == info.newBlock || isDemoted(act, victim)))
          victim = res.coldNext(victim);
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

  static bool isDemoted(const StepActions &act, BlockId b) {
    return std::find(act.demote.begin(), act.demote.end(), b) != act.demote.end();
  }

  /// Steps from `step` until block b's read count next changes (its stay
  /// in the read set, for token blocks); advances b's cursor.
  uint32_t stayFrom(BlockId b, uint32_t step) {
    auto ev = acc.blockEvents(b);
    uint64_t &c = cursor[b];
    while (c < ev.size() && BlockAccesses::eventStep(ev[c]) < step)
      ++c;
    uint64_t k = c;
    while (k < ev.size() && BlockAccesses::eventIsAdd(ev[k]))
      ++k;
    uint32_t end = k < ev.size() ? BlockAccesses::eventStep(ev[k])
                                 : acc.decodeSteps();
    return end > step ? end - step : 0;
  }

  const BlockAccesses &acc;
  ResourceCosts costs;
  BalancedOptions opt;
  std::vector<uint64_t> cursor;
  std::vector<std::pair<uint32_t, BlockId>> cand;
};

} // namespace reference
} // namespace solver
} // namespace kvopt

#endif // KVOPT_UNITTESTS_SOLVER_REFERENCEBALANCEDPOLICY_H
