//===- WindowPlacement.cpp - Per-window HBM sets chosen by read counts ----===//
//
// The planner walks every block's read-count events once with two cursors
// (the window's start and the end of its value horizon), so a choice costs
// O(blocks + events in the horizon); the top-C pick and the balancing cut
// are selections (nth_element), not sorts. Ties are broken by block id, so
// the plan depends only on the inputs.
//
//===----------------------------------------------------------------------===//
#include "kvopt/Solver/WindowPlacement.h"
#include "kvopt/Core/Error.h"

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

/// A cursor over one block's events: `cum` = weighted reads in steps
/// [0, t) (step i's reads count `weight[i]` each), `cnt` = reads in step t,
/// `pos` = the first event after step t (t is the same for every block and
/// kept by the caller), `next` = the step of that event (UINT32_MAX: none).
/// `next` keeps the per-period walk of a block with no event due off the
/// event table (a cache miss per block and period into a table far larger
/// than the caches was most of the planner's time).
struct Walk {
  double cum = 0;
  uint32_t pos = 0;
  uint32_t cnt = 0;
  uint32_t next = UINT32_MAX;
};

void setNext(llvm::ArrayRef<uint32_t> ev, Walk &w) {
  w.next = w.pos < ev.size() ? BlockAccesses::eventStep(ev[w.pos])
                             : UINT32_MAX;
}

/// Apply the events of step 0: the cursor then stands at t = 0.
void startWalk(llvm::ArrayRef<uint32_t> ev, Walk &w) {
  while (w.pos < ev.size() && BlockAccesses::eventStep(ev[w.pos]) == 0)
    w.cnt += BlockAccesses::eventIsAdd(ev[w.pos++]) ? 1 : uint32_t(-1);
  setNext(ev, w);
}

/// Move a cursor over the events `ev` from step `from` to step `to`
/// (>= from). `prefix[i]` = sum of the step weights of steps [0, i).
void advanceEvents(llvm::ArrayRef<uint32_t> ev,
                   const std::vector<double> &prefix, Walk &w, uint32_t from,
                   uint32_t to) {
  uint32_t t = from;
  while (w.pos < ev.size() && BlockAccesses::eventStep(ev[w.pos]) <= to) {
    uint32_t e = BlockAccesses::eventStep(ev[w.pos]);
    w.cum += double(w.cnt) * (prefix[e] - prefix[t]);
    t = e;
    while (w.pos < ev.size() && BlockAccesses::eventStep(ev[w.pos]) == e)
      w.cnt += BlockAccesses::eventIsAdd(ev[w.pos++]) ? 1 : uint32_t(-1);
  }
  w.cum += double(w.cnt) * (prefix[to] - prefix[t]);
  setNext(ev, w);
}

/// The same for block j of `acc`; with no event in (from, to] it is the
/// loop's last line alone (one multiply-add, the same operation), without
/// reading the event table.
inline void advanceWalk(const BlockAccesses &acc, BlockId j,
                        const std::vector<double> &prefix, Walk &w,
                        uint32_t from, uint32_t to) {
  if (w.next > to) {
    w.cum += double(w.cnt) * (prefix[to] - prefix[from]);
    return;
  }
  advanceEvents(acc.blockEvents(j), prefix, w, from, to);
}

/// Blocks between a prefetch of a cursor's events and their use.
constexpr uint64_t kPrefetch = 16;

using Cand = std::pair<double, BlockId>;
/// Most valuable first; ties by block id (a strict total order, so the
/// selected sets do not depend on the library's partitioning).
bool better(const Cand &a, const Cand &b) {
  return a.first != b.first ? a.first > b.first : a.second < b.second;
}

/// The balancing cut, per (step, layer) group: where the chosen blocks of a
/// layer would serve more hits in step s than the bandwidth-balanced share
/// of its reads (weights + hits on HBM = misses on the link), cancel its
/// promotions, then demote its resident blocks, most reads first (the
/// fewest moved entries per read shifted), until the hits are at that
/// share. Clears `chosen` for the blocks left out.
void balanceLayers(const BlockAccesses &acc, const ResourceCosts &costs,
                   const WindowOptions &opt, const std::vector<Walk> &at,
                   const std::vector<uint8_t> &inHbm,
                   std::vector<uint8_t> &chosen) {
  const uint32_t L = acc.layers(), T = acc.tokensPerBlock();
  const uint64_t N = acc.totalBlocks();
  const double missLink = std::max(costs.miss[1], costs.miss[2]);
  // Blocks are numbered (sequence, layer, index) with the index fastest,
  // so a chain of `per` blocks has one layer (no division per block).
  const uint64_t per = acc.blocksPerSeqLayer(), chains = N / per;
  std::vector<double> reads(L, 0), hits(L, 0);
  // Read counts are integers: summed per chain in integers and added once
  // (the double sums are exact either way, below 2^53), with no
  // loop-carried floating-point add per block.
  for (uint64_t c = 0, j = 0; c < chains; ++c) {
    uint32_t l = uint32_t(c % L);
    uint64_t r = 0, h = 0;
    for (uint64_t e = j + per; j < e; ++j) {
      r += at[j].cnt;
      h += chosen[j] ? at[j].cnt : 0;
    }
    reads[l] += double(r);
    hits[l] += double(h);
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
  for (uint64_t c = 0; c < chains; ++c) {
    uint32_t l = uint32_t(c % L);
    if (!over[l])
      continue;
    for (uint64_t j = c * per, e = j + per; j < e; ++j) {
      if (!chosen[j])
        continue;
      uint32_t cnt = std::min(at[j].cnt, T);
      bucket[l * perLayer + (inHbm[j] ? T + 1 : 0) + (T - cnt)].push_back(
          BlockId(j));
    }
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

} // namespace

WindowPlan kvopt::solver::planWindows(const BlockAccesses &acc,
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
    advanceEvents(ev, prefix, ahead[j], 0, horizon);
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
      advanceEvents(ev, prefix, w, 0, initHorizon);
      initReads[j] = w.cum;
    }
  }
  // Blocks are numbered (sequence, layer, index) with the index fastest:
  // block j = c * per + i of chain c has first token i * T.
  const uint64_t per = acc.blocksPerSeqLayer(), chains = N / per;
  std::vector<Cand> cand;
  for (uint32_t s = 0; s < D; s += period) {
    uint32_t end = std::min(D, s + horizon);
    // Candidates: blocks that exist by their record of step s - 1 (or the
    // prompt blocks for the first placement), with a positive value.
    cand.clear();
    const bool moveAt = s > atStep, moveAhead = end > aheadStep;
    for (uint64_t j = 0; j < chains * per;) {
      for (uint64_t i = 0; i < per; ++i, ++j) {
        // The event table is read at the cursors of blocks kPrefetch ahead
        // (blocks with an event due are the common case: a cache miss
        // each otherwise).
        if (j + kPrefetch < N) {
          const uint64_t k = j + kPrefetch;
          const uint32_t *ev = acc.blockEvents(BlockId(k)).data();
          if (moveAt && at[k].next <= s)
            __builtin_prefetch(ev + at[k].pos);
          if (moveAhead && ahead[k].next <= end)
            __builtin_prefetch(ev + ahead[k].pos);
        }
        if (moveAt)
          advanceWalk(acc, BlockId(j), prefix, at[j], atStep, s);
        if (moveAhead)
          advanceWalk(acc, BlockId(j), prefix, ahead[j], aheadStep, end);
        uint32_t first = uint32_t(i) * T; // acc.firstToken(j)
        if (first >= P + s)
          continue;
        double reads = s == 0 && !initReads.empty()
                           ? initReads[j]
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

namespace {

class WindowPolicy : public Policy {
public:
  WindowPolicy(WindowPlan plan, const BlockAccesses &acc, std::string name)
      : plan(std::move(plan)), acc(acc), policyName(std::move(name)) {}

  std::string name() const override { return policyName; }
  ResidencyFeatures features() const override { return {false, false}; }

  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    const Residency &res = ctx.res;
    const uint64_t N = acc.totalBlocks();
    if (res.totalBlocks() != N || plan.createInHbm.size() != N)
      return makeFieldError("policy '" + policyName + "'", "plan",
                            "the plan has " +
                                std::to_string(plan.createInHbm.size()) +
                                " blocks, the problem " +
                                std::to_string(res.totalBlocks()));
    if (plan.initial.size() > res.capacityBlocks())
      return makeFieldError("policy '" + policyName + "'", "initial_hbm",
                            "the plan starts with " +
                                std::to_string(plan.initial.size()) +
                                " blocks in HBM, the capacity is " +
                                std::to_string(res.capacityBlocks()) +
                                " (planned for another capacity)");
    want.assign(N, 0);
    stamp.assign(N, 0);
    for (BlockId b : plan.initial)
      want[b] = 1;
    hbm = plan.initial;
    return llvm::Error::success();
  }

  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    const Residency &res = ctx.res;
    ++counter;
    int64_t free = int64_t(res.freeBlocks());
    // This chain's planned changes for the reads of step + 1.
    const uint64_t per = acc.blocksPerSeqLayer();
    const BlockId first =
        BlockId((uint64_t(info.seq) * acc.layers() + info.layer) * per);
    WindowMove key{info.step + 1, first, false};
    auto it = std::lower_bound(
        plan.moves.begin(), plan.moves.end(), key,
        [](const WindowMove &a, const WindowMove &b) {
          return a.step != b.step ? a.step < b.step : a.block < b.block;
        });
    auto end = it;
    while (end != plan.moves.end() && end->step == info.step + 1 &&
           end->block < first + per)
      ++end;
    for (auto m = it; m != end; ++m) {
      want[m->block] = m->toHbm;
      if (!m->toHbm && res.exists(m->block) && res.inHbm(m->block)) {
        act.demote.push_back(m->block);
        ++free;
      }
    }
    bool newPlaced = false;
    if (info.opensBlock) {
      newPlaced = (want[info.newBlock] || plan.createInHbm[info.newBlock]) &&
                  free > 0;
      act.newBlockInHbm = newPlaced;
      if (newPlaced)
        --free;
    }
    // Earlier promotions that did not fit, oldest first.
    size_t kept = 0;
    for (BlockId b : pending) {
      if (!want[b] || !res.exists(b) || res.inHbm(b) || stamp[b] == counter)
        continue;
      if (free > 0) {
        act.promote.push_back(b);
        stamp[b] = counter;
        --free;
      } else {
        pending[kept++] = b;
      }
    }
    pending.resize(kept);
    for (auto m = it; m != end; ++m) {
      BlockId b = m->block;
      if (!m->toHbm || stamp[b] == counter)
        continue;
      if (info.opensBlock && b == info.newBlock) {
        if (!newPlaced)
          pending.push_back(b); // promoted once it exists
        continue;
      }
      if (!res.exists(b) || res.inHbm(b))
        continue;
      if (free > 0) {
        act.promote.push_back(b);
        stamp[b] = counter;
        --free;
      } else {
        pending.push_back(b);
      }
    }
    return llvm::Error::success();
  }

private:
  WindowPlan plan;
  const BlockAccesses &acc;
  std::string policyName;
  std::vector<uint8_t> want;
  std::vector<uint32_t> stamp;
  uint32_t counter = 0;
  std::vector<BlockId> pending;
};

} // namespace

std::unique_ptr<Policy> kvopt::solver::createWindowPolicy(
    WindowPlan plan, const BlockAccesses &accesses, std::string name) {
  return std::make_unique<WindowPolicy>(std::move(plan), accesses,
                                        std::move(name));
}

std::vector<WindowOptions> kvopt::solver::windowCandidates() {
  // One candidate: every option set costs a plan and a simulation (on the
  // README default, h=4/h0=16/k=2 gave 1.06 x the bound on the reduced
  // instance against 1.05 x for this one, and never won).
  std::vector<WindowOptions> v(1);
  v[0].horizon = 6;
  v[0].initialHorizon = 12;
  v[0].promoteWeight = 3;
  return v;
}

std::unique_ptr<Policy> kvopt::solver::createWindowPlacementPolicy(
    const BlockAccesses &accesses, const ResourceCosts &costs,
    uint64_t capacityBlocks, const WindowOptions &options) {
  auto steps = [](uint32_t h) {
    return h ? std::to_string(h) : std::string("all");
  };
  std::ostringstream k;
  k << options.promoteWeight;
  std::string name = "window-placement(h=" + steps(options.horizon) +
                     ",h0=" +
                     steps(options.initialHorizon ? options.initialHorizon
                                                  : options.horizon) +
                     ",k=" + k.str() + (options.balance ? "" : ",unbalanced") +
                     ")";
  return createWindowPolicy(
      planWindows(accesses, costs, capacityBlocks, options), accesses, name);
}
