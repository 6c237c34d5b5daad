//===- PlanPolicy.cpp - Replay a relaxed plan, repaired to feasibility ----===//
#include "kvopt/Solver/PlanPolicy.h"
#include "kvopt/Core/Error.h"

#include <algorithm>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

/// One planned change: before the read of `step`, `block` should be in
/// HBM (toHbm) or not.
struct PlanEvent {
  uint32_t step;
  BlockId block;
  bool toHbm;
};

class PlanPolicy : public Policy {
public:
  PlanPolicy(const BlockPlan &plan, const BlockAccesses &acc, std::string name)
      : plan(plan), acc(acc), policyName(std::move(name)) {}

  std::string name() const override { return policyName; }

  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    const Residency &res = ctx.res;
    const uint64_t N = acc.totalBlocks();
    if (plan.firstInHbm.size() != N || res.totalBlocks() != N)
      return makeFieldError("policy '" + policyName + "'", "plan",
                            "the plan has " +
                                std::to_string(plan.firstInHbm.size()) +
                                " blocks, the problem " +
                                std::to_string(res.totalBlocks()));
    const uint32_t L = acc.layers(), B = acc.batch(), P = acc.promptLen();
    lists.assign(uint64_t(L) * B, {});
    cursor.assign(uint64_t(L) * B, 0);
    pending.assign(uint64_t(L) * B, {});
    want.assign(N, 0);
    stamp.assign(N, 0);
    creationHbm.assign(N, 0);
    for (uint64_t j = 0; j < N; ++j) {
      uint32_t f = acc.firstToken(BlockId(j));
      bool created = f >= P;
      uint32_t s0 = created ? f - P : 0;
      uint64_t key = uint64_t(acc.seqOf(BlockId(j))) * L + acc.layerOf(BlockId(j));
      bool state = plan.firstInHbm[j];
      for (uint64_t k = plan.offsets[j]; k < plan.offsets[j + 1]; ++k) {
        uint32_t ev = plan.switches[k];
        uint32_t step = ev >> 1;
        bool toHbm = ev & 1;
        // A created block cannot move before it exists (the step after its
        // creation): fold such a switch into the creation choice.
        if (created && step == s0 + 1) {
          state = toHbm;
          continue;
        }
        lists[key].push_back({step, BlockId(j), toHbm});
      }
      if (created) {
        creationHbm[j] = state;
      } else {
        want[j] = state;
        if (state)
          initial.push_back(BlockId(j));
      }
    }
    for (auto &l : lists)
      std::stable_sort(l.begin(), l.end(),
                       [](const PlanEvent &a, const PlanEvent &b) {
                         return a.step < b.step;
                       });
    // Initial placement within the capacity, in plan order.
    uint64_t cap = res.capacityBlocks();
    if (initial.size() > cap) {
      for (size_t k = cap; k < initial.size(); ++k)
        want[initial[k]] = 0;
      initial.resize(cap);
    }
    hbm = initial;
    return llvm::Error::success();
  }

  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    const Residency &res = ctx.res;
    const uint64_t key = uint64_t(info.seq) * acc.layers() + info.layer;
    std::vector<PlanEvent> &l = lists[key];
    size_t &pos = cursor[key];
    // Events for the read of step + 1 (and any stale earlier ones).
    int64_t free = int64_t(res.freeBlocks());
    promote.clear();
    ++counter;
    while (pos < l.size() && l[pos].step <= info.step + 1) {
      const PlanEvent &e = l[pos++];
      want[e.block] = e.toHbm;
      if (!res.exists(e.block))
        continue;
      if (!e.toHbm && res.inHbm(e.block)) {
        act.demote.push_back(e.block);
        ++free;
      } else if (e.toHbm && !res.inHbm(e.block) &&
                 stamp[e.block] != counter) {
        stamp[e.block] = counter;
        promote.push_back(e.block);
      }
    }
    if (info.opensBlock) {
      bool h = creationHbm[info.newBlock] && free > 0;
      act.newBlockInHbm = h;
      want[info.newBlock] = h;
      if (h)
        --free;
    }
    // Retry earlier promotions that did not fit and are still wanted.
    std::vector<BlockId> &wait = pending[key];
    size_t keep = 0;
    for (BlockId b : wait) {
      if (!want[b] || res.inHbm(b) || stamp[b] == counter)
        continue;
      if (free > 0) {
        act.promote.push_back(b);
        --free;
      } else {
        wait[keep++] = b;
      }
    }
    wait.resize(keep);
    for (BlockId b : promote) {
      if (free > 0) {
        act.promote.push_back(b);
        --free;
      } else {
        wait.push_back(b);
      }
    }
    return llvm::Error::success();
  }

private:
  const BlockPlan &plan;
  const BlockAccesses &acc;
  std::string policyName;
  std::vector<std::vector<PlanEvent>> lists;
  std::vector<size_t> cursor;
  std::vector<std::vector<BlockId>> pending;
  std::vector<uint8_t> want, creationHbm;
  std::vector<uint32_t> stamp;
  uint32_t counter = 0;
  std::vector<BlockId> initial, promote;
};

} // namespace

std::unique_ptr<Policy> kvopt::solver::createPlanPolicy(
    const BlockPlan &plan, const BlockAccesses &accesses, std::string name) {
  return std::make_unique<PlanPolicy>(plan, accesses, std::move(name));
}
