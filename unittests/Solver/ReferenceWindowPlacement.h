//===- ReferenceWindowPlacement.h - The window planner as first written -*- C++ -*-===//
//
// A verbatim copy of planWindows (WindowPlacement.cpp) as it was before its
// speed-ups (a 64-bit division per block for its first token and two for
// its layer, per period, and an out-of-line cursor walk for every block).
// WindowPlacementTest runs it next to the library's planner and requires
// the same plan, move for move.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_UNITTESTS_SOLVER_REFERENCEWINDOWPLACEMENT_H
#define KVOPT_UNITTESTS_SOLVER_REFERENCEWINDOWPLACEMENT_H

#include "kvopt/Solver/WindowPlacement.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvopt {
namespace solver {
namespace reference {

namespace detail {

/// A cursor over one block's events: `cum` = weighted reads in steps
/// [0, t) (step i's reads count `weight[i]` each), `cnt` = reads in step t,
/// `pos` = the first event after step t (t is the same for every block and
/// kept by the caller).
struct Walk {
  uint32_t pos = 0;
  uint32_t cnt = 0;
  double cum = 0;
};

/// Apply the events of step 0: the cursor then stands at t = 0.
inline void startWalk(llvm::ArrayRef<uint32_t> ev, Walk &w) {
  while (w.pos < ev.size() && BlockAccesses::eventStep(ev[w.pos]) == 0)
    w.cnt += BlockAccesses::eventIsAdd(ev[w.pos++]) ? 1 : uint32_t(-1);
}

/// Move a cursor from step `from` to step `to` (>= from).
/// `prefix[i]` = sum of the step weights of steps [0, i).
inline void advanceWalk(llvm::ArrayRef<uint32_t> ev, const std::vector<double> &prefix,
                 Walk &w, uint32_t from, uint32_t to) {
  uint32_t t = from;
  while (w.pos < ev.size() && BlockAccesses::eventStep(ev[w.pos]) <= to) {
    uint32_t e = BlockAccesses::eventStep(ev[w.pos]);
    w.cum += double(w.cnt) * (prefix[e] - prefix[t]);
    t = e;
    while (w.pos < ev.size() && BlockAccesses::eventStep(ev[w.pos]) == e)
      w.cnt += BlockAccesses::eventIsAdd(ev[w.pos++]) ? 1 : uint32_t(-1);
  }
  w.cum += double(w.cnt) * (prefix[to] - prefix[t]);
}

using Cand = std::pair<double, BlockId>;
/// Most valuable first; ties by block id (a strict total order, so the
/// selected sets do not depend on the library's partitioning).
inline bool better(const Cand &a, const Cand &b) {
  return a.first != b.first ? a.first > b.first : a.second < b.second;
}

/// The balancing cut, per (step, layer) group: where the chosen blocks of a
/// layer would serve more hits in step s than the bandwidth-balanced share
/// of its reads (weights + hits on HBM = misses on the link), cancel its
/// promotions, then demote its resident blocks, most reads first (the
/// fewest moved entries per read shifted), until the hits are at that
/// share. Clears `chosen` for the blocks left out.
inline void balanceLayers(const BlockAccesses &acc, const ResourceCosts &costs,
                   const WindowOptions &opt, const std::vector<Walk> &at,
                   const std::vector<uint8_t> &inHbm,
                   std::vector<uint8_t> &chosen) {
  const uint32_t L = acc.layers(), T = acc.tokensPerBlock();
  const uint64_t N = acc.totalBlocks();
  const double missLink = std::max(costs.miss[1], costs.miss[2]);
  std::vector<double> reads(L, 0), hits(L, 0);
  for (uint64_t j = 0; j < N; ++j) {
    uint32_t l = acc.layerOf(BlockId(j));
    reads[l] += at[j].cnt;
    if (chosen[j])
      hits[l] += at[j].cnt;
  }
  std::vector<double> target(L);
  std::vector<uint8_t> over(L, 0);
  bool any = false;
  for (uint32_t l = 0; l < L; ++l) {
    double h = (reads[l] * missLink - costs.weights[0]) /
               (costs.hit[0] + missLink);
    target[l] = std::clamp(h, 0.0, reads[l]);
    over[l] = hits[l] > target[l];
    any |= over[l] != 0;
  }
  if (!any)
    return;
  // Removal order per layer: promotions before resident blocks, each by
  // read count descending, ties by block id (filled in id order).
  const uint64_t perLayer = 2 * (uint64_t(T) + 1);
  std::vector<std::vector<BlockId>> bucket(L * perLayer);
  for (uint64_t j = 0; j < N; ++j) {
    uint32_t l = acc.layerOf(BlockId(j));
    if (!chosen[j] || !over[l])
      continue;
    uint32_t cnt = std::min(at[j].cnt, T);
    bucket[l * perLayer + (inHbm[j] ? T + 1 : 0) + (T - cnt)].push_back(
        BlockId(j));
  }
  for (uint32_t l = 0; l < L; ++l) {
    if (!over[l])
      continue;
    for (uint64_t k = 0; k < perLayer && hits[l] > target[l]; ++k) {
      // Resident blocks are demoted only beyond the hysteresis slack.
      if (k == T + 1 && hits[l] <= target[l] * (1 + opt.balanceSlack))
        break;
      for (BlockId j : bucket[l * perLayer + k]) {
        if (hits[l] <= target[l])
          break;
        chosen[j] = 0;
        hits[l] -= at[j].cnt;
      }
    }
  }
}

} // namespace detail

using namespace detail;

/// planWindows before the speed-ups.
inline WindowPlan referencePlanWindows(const BlockAccesses &acc,
                                      const ResourceCosts &costs,
                                      uint64_t capacity,
                                      const WindowOptions &opt) {
  WindowPlan plan;
  const uint64_t N = acc.totalBlocks();
  const uint32_t D = acc.decodeSteps(), P = acc.promptLen(),
                 T = acc.tokensPerBlock();
  plan.createInHbm.assign(N, 0);
  if (D == 0 || N == 0)
    return plan;
  uint32_t period = opt.period;
  if (period == 0)
    period = std::max<uint32_t>(
        1, (D + std::max<uint32_t>(1, opt.maxPlans) - 1) /
               std::max<uint32_t>(1, opt.maxPlans));
  uint32_t horizon = opt.horizon ? std::min(opt.horizon, D) : D;
  horizon = std::max(horizon, std::min(period, D));

  // Prices in units of one missed read on the slower link resource.
  const double missLink = std::max(costs.miss[1], costs.miss[2]);
  const double promoteLink = std::max(costs.promote[1], costs.promote[2]);
  const double kappa =
      missLink > 0 ? opt.promoteWeight * promoteLink / missLink : 0;

  // Every step's reads count the same; the cursors take prefix sums of
  // per-step weights so that a step could be weighed differently.
  std::vector<double> prefix(D + 1, 0);
  for (uint32_t i = 0; i < D; ++i)
    prefix[i + 1] = prefix[i] + 1;
  std::vector<Walk> at(N), ahead(N);
  std::vector<uint8_t> inHbm(N, 0), chosen(N, 0);
  for (uint64_t j = 0; j < N; ++j) {
    auto ev = acc.blockEvents(BlockId(j));
    startWalk(ev, at[j]);
    ahead[j] = at[j];
    advanceWalk(ev, prefix, ahead[j], 0, horizon);
  }
  uint32_t atStep = 0, aheadStep = horizon;
  uint32_t initHorizon = opt.initialHorizon ? std::min(opt.initialHorizon, D) : horizon;
  std::vector<double> initReads;
  if (initHorizon != horizon) {
    initReads.resize(N);
    for (uint64_t j = 0; j < N; ++j) {
      auto ev = acc.blockEvents(BlockId(j));
      Walk w;
      startWalk(ev, w);
      advanceWalk(ev, prefix, w, 0, initHorizon);
      initReads[j] = w.cum;
    }
  }
  std::vector<Cand> cand;
  for (uint32_t s = 0; s < D; s += period) {
    uint32_t end = std::min(D, s + horizon);
    // Candidates: blocks that exist by their record of step s - 1 (or the
    // prompt blocks for the first placement), with a positive value.
    cand.clear();
    for (uint64_t j = 0; j < N; ++j) {
      auto ev = acc.blockEvents(BlockId(j));
      if (s > atStep)
        advanceWalk(ev, prefix, at[j], atStep, s);
      if (end > aheadStep)
        advanceWalk(ev, prefix, ahead[j], aheadStep, end);
      uint32_t first = acc.firstToken(BlockId(j));
      if (first >= P + s)
        continue;
      double reads = s == 0 && !initReads.empty() ? initReads[j]
                                                  : ahead[j].cum - at[j].cum;
      double v;
      if (inHbm[j] || s == 0)
        v = reads + 0.5; // keeping it costs nothing; ties favour staying
      else if (first + 1 == P + s)
        v = reads; // created at step s - 1: placed in HBM at creation
      else
        v = reads - kappa * std::min<double>(T, P + s - 1 - first);
      if (v > 0)
        cand.push_back({v, BlockId(j)});
    }
    atStep = std::max(atStep, s);
    aheadStep = std::max(aheadStep, end);
    size_t keep = std::min<uint64_t>(cand.size(), capacity);
    if (keep < cand.size())
      std::nth_element(cand.begin(), cand.begin() + keep, cand.end(), better);
    cand.resize(keep);
    for (const Cand &c : cand)
      chosen[c.second] = 1;
    if (opt.balance && keep > 0)
      balanceLayers(acc, costs, opt, at, inHbm, chosen);
    for (uint64_t j = 0; j < N; ++j) {
      if (chosen[j] == inHbm[j])
        continue;
      if (s == 0) {
        plan.initial.push_back(BlockId(j));
      } else {
        plan.moves.push_back({s, BlockId(j), chosen[j] != 0});
        if (chosen[j] && acc.firstToken(BlockId(j)) + 1 == P + s)
          plan.createInHbm[j] = 1;
      }
      inHbm[j] = chosen[j];
    }
    std::fill(chosen.begin(), chosen.end(), 0);
  }
  return plan;
}

} // namespace reference
} // namespace solver
} // namespace kvopt

#endif // KVOPT_UNITTESTS_SOLVER_REFERENCEWINDOWPLACEMENT_H
