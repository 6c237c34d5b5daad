//===- Policies.cpp - Online baseline policies and the policy registry ---===//
#include "kvopt/Core/Policies.h"
#include "Lookahead.h"
#include "PolicySupport.h"
#include "kvopt/Core/Error.h"

#include <cmath>

using namespace kvopt;
using namespace kvopt::detail;

namespace {

class UnlimitedPolicy : public Policy {
public:
  ResidencyFeatures features() const override { return {false, false}; }
  std::string name() const override { return "unlimited"; }
  bool ignoresCapacity() const override { return true; }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    forEachPromptBlockTokenMajor(ctx.res, [&](BlockId b) {
      hbm.push_back(b);
      return true;
    });
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &, const StepInfo &info,
                   StepActions &act) override {
    act.newBlockInHbm = info.opensBlock;
    return llvm::Error::success();
  }
};

class AllDramPolicy : public Policy {
public:
  ResidencyFeatures features() const override { return {false, false}; }
  std::string name() const override { return "all-dram"; }
  llvm::Error initialize(const SimContext &, std::vector<BlockId> &) override {
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &, const StepInfo &,
                   StepActions &) override {
    return llvm::Error::success();
  }
};

class StaticPolicy : public Policy {
public:
  ResidencyFeatures features() const override { return {false, false}; }
  std::string name() const override { return "static"; }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    staticFirstFit(ctx.res, hbm);
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    act.newBlockInHbm = info.opensBlock && ctx.res.freeBlocks() > 0;
    return llvm::Error::success();
  }
};

class StaticSplitPolicy : public Policy {
public:
  ResidencyFeatures features() const override { return {false, false}; }
  std::string name() const override { return "static-split"; }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    const Residency &res = ctx.res;
    double balanced = ctx.problem.model.bandwidthBalancedFraction();
    double share = double(res.capacityBlocks()) / double(res.totalBlocks());
    fraction = std::min(balanced, share);
    uint64_t cap = res.capacityBlocks();
    forEachPromptBlockTokenMajor(res, [&](BlockId b) {
      if (hbm.size() >= cap)
        return false;
      if (selected(res.indexOf(b)))
        hbm.push_back(b);
      return true;
    });
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    act.newBlockInHbm = info.opensBlock && ctx.res.freeBlocks() > 0 &&
                        selected(ctx.res.indexOf(info.newBlock));
    return llvm::Error::success();
  }

private:
  /// Block k is in HBM iff floor((k+1) f) > floor(k f): an even interleave
  /// holding a fraction f of every (seq, layer).
  bool selected(uint64_t k) const {
    return std::floor(double(k + 1) * fraction) >
           std::floor(double(k) * fraction);
  }
  double fraction = 0;
};

class ReactiveLruPolicy : public Policy {
public:
  std::string name() const override { return "reactive"; }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    staticFirstFit(ctx.res, hbm);
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    const Residency &res = ctx.res;
    SlotBudget budget(res);
    auto anyCold = [](BlockId) { return true; };
    // Promote every missed block of this (seq, layer), evicting the least
    // recently read blocks that nobody reads now.
    for (BlockId b : res.missing(info.seq, info.layer)) {
      if (budget.hasFree()) {
        budget.take();
      } else {
        BlockId victim = budget.nextCold(anyCold);
        if (victim == kNoBlock)
          break;
        act.demote.push_back(victim);
      }
      act.promote.push_back(b);
    }
    if (info.opensBlock) {
      if (budget.hasFree()) {
        budget.take();
        act.newBlockInHbm = true;
      } else {
        BlockId victim = budget.nextCold(anyCold);
        if (victim != kNoBlock) {
          act.demote.push_back(victim);
          act.newBlockInHbm = true;
        }
      }
    }
    return llvm::Error::success();
  }
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

} // namespace

std::unique_ptr<Policy> kvopt::createUnlimitedPolicy() {
  return std::make_unique<UnlimitedPolicy>();
}
std::unique_ptr<Policy> kvopt::createAllDramPolicy() {
  return std::make_unique<AllDramPolicy>();
}
std::unique_ptr<Policy> kvopt::createStaticPolicy() {
  return std::make_unique<StaticPolicy>();
}
std::unique_ptr<Policy> kvopt::createStaticSplitPolicy() {
  return std::make_unique<StaticSplitPolicy>();
}
std::unique_ptr<Policy> kvopt::createReactiveLruPolicy() {
  return std::make_unique<ReactiveLruPolicy>();
}
std::unique_ptr<Policy> kvopt::createSeedReactivePolicy() {
  return std::make_unique<SeedReactivePolicy>();
}

std::vector<std::string> kvopt::listPolicyNames() {
  return {"unlimited",     "all-dram", "static",    "static-split", "reactive",
          "reactive-seed", "page",     "lookahead", "belady"};
}

llvm::Expected<std::unique_ptr<Policy>>
kvopt::createPolicyByName(const std::string &name, uint32_t window,
                          double fraction) {
  if (name == "unlimited")
    return createUnlimitedPolicy();
  if (name == "all-dram")
    return createAllDramPolicy();
  if (name == "static")
    return createStaticPolicy();
  if (name == "static-split")
    return createStaticSplitPolicy();
  if (name == "reactive")
    return createReactiveLruPolicy();
  if (name == "reactive-seed")
    return createSeedReactivePolicy();
  if (name == "page")
    return createPageOraclePolicy();
  if (name == "lookahead" || name == "sa") {
    if (window == 0)
      return makeFieldError("policy 'lookahead'", "window", "must be >= 1");
    if (!(fraction > 0 && fraction <= 1))
      return makeFieldError("policy 'lookahead'", "fraction",
                            "must be in (0, 1], got " +
                                std::to_string(fraction));
    return createLookaheadPolicy(window, fraction);
  }
  if (name == "belady")
    return createBeladyPolicy();
  std::string known;
  for (const std::string &n : listPolicyNames())
    known += (known.empty() ? "" : ", ") + n;
  return makeFieldError("policy", "name",
                        "unknown policy '" + name + "' (known: " + known + ")");
}
