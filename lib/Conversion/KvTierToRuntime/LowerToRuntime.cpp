//===- LowerToRuntime.cpp - --kvtier-lower-to-runtime ---------------------===//
//
// Part of kv-opt. The pass around populateKvTierToRuntimePatterns: resolves
// the schedule file and the HBM size, applies the patterns, reports every
// attention it could not lower (a remark naming the reason; the upstream
// computation stays) and removes the remaining kvtier ops.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Analysis/KvCacheAnalysis.h"
#include "kvopt/Conversion/KvTierToRuntime/KvTierToRuntime.h"
#include "kvopt/Conversion/Passes.h"
#include "kvopt/Dialect/KvTier/IR/KvTierAttrs.h"
#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Transforms/AttentionPatterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kvtier {
#define GEN_PASS_DEF_LOWERTORUNTIME
#include "kvopt/Conversion/Passes.h.inc"
} // namespace mlir::kvtier

using namespace mlir;
using namespace mlir::kvtier;

namespace {

struct LowerToRuntimePass
    : public kvtier::impl::LowerToRuntimeBase<LowerToRuntimePass> {
  using LowerToRuntimeBase::LowerToRuntimeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    KvCacheAnalysis analysis(module);
    if (analysis.getNumAttention() == 0 &&
        analysis.getUnresolvedAttention().empty())
      return;
    auto plan =
        module->getAttrOfType<PlanAttr>(KvTierDialect::getPlanAttrName());
    KvTierToRuntimeOptions options;
    options.analysis = &analysis;
    options.schedulePath = !schedulePath.empty() ? schedulePath
                           : plan                ? plan.getFile().str()
                                                 : std::string();
    if (options.schedulePath.empty()) {
      module.emitError("no schedule to run: the module has no #kvtier.plan "
                       "with a file; run --kvtier-plan-kv-tiers "
                       "(schedule-file=...) first or pass schedule=");
      return signalPassFailure();
    }
    if (failed(analysis.verifySharedGeometry(
            SharedGeometry::Runtime, "lowered to one runtime cache")))
      return signalPassFailure();
    // The lowered attention attends every cached token ([0, position]).
    for (const CacheInfo &info : analysis.getCaches())
      if (int64_t window = analysis.getWindow(info)) {
        CacheOp(info.op).emitError("cache '")
            << CacheOp(info.op).getName() << "' is a sliding window of "
            << window
            << " tokens; the lowering to the kvrt runtime attends every "
               "cached token, so windowed layers are lowered only by "
               "kv-translate --kvtier-to-cuda";
        return signalPassFailure();
      }

    // Attention the runtime cannot take keeps its upstream computation.
    SmallVector<AttentionOp> all;
    module.walk([&](AttentionOp op) { all.push_back(op); });
    unsigned kept = 0;
    for (AttentionOp op : all) {
      std::string why = checkRuntimeLowering(op);
      if (why.empty())
        continue;
      op.emitRemark("attention on layer ")
          << op.getLayer()
          << " keeps its upstream computation (not lowered to the kvrt "
             "runtime): "
          << why;
      ++kept;
    }
    if (kept && kept != all.size()) {
      // The runtime advances its cache after every layer of a step, so a
      // runtime cache with some layers lowered and others not never runs.
      module.emitError("only ")
          << all.size() - kept << " of " << all.size()
          << " attention ops can be lowered to the runtime; it runs all "
             "layers of its cache or none";
      return signalPassFailure();
    }
    if (!kept) {
      RewritePatternSet patterns(&getContext());
      populateKvTierToRuntimePatterns(patterns, options);
      GreedyRewriteConfig config;
      config.enableFolding(false);
      config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
      if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
        return signalPassFailure();
      bool left = false;
      module.walk([&](AttentionOp op) {
        op.emitError("attention was not lowered to the kvrt runtime");
        left = true;
      });
      if (left)
        return signalPassFailure();
    }
    // Remove the kvtier annotations so only upstream dialects remain.
    SmallVector<Operation *> erase;
    module.walk([&](Operation *op) {
      if (isa<AttentionOp, AppendOp, WaitOp>(op))
        erase.push_back(op);
    });
    for (Operation *op : erase)
      op->erase();
    // The list held the ops just erased; only the migrations are left to
    // visit (touching an erased op is a use after free).
    SmallVector<Operation *> migrations;
    module.walk([&](MigrateOp op) { migrations.push_back(op); });
    SmallVector<Operation *> caches;
    module.walk([&](CacheOp op) { caches.push_back(op); });
    for (Operation *op : llvm::reverse(migrations))
      if (op->use_empty())
        op->erase();
    for (Operation *op : caches) {
      if (!op->use_empty()) {
        op->emitError("kvtier.cache still used after the lowering");
        return signalPassFailure();
      }
      op->erase();
    }
    for (StringRef name :
         {KvTierDialect::getPlanAttrName(), KvTierDialect::getModelAttrName(),
          KvTierDialect::getMemorySystemAttrName()})
      module->removeAttr(name);
    // The raise's tags on the upstream ops that stay (the cache writes, a
    // kept attention) go too.
    module.walk([](Operation *op) { op->removeAttr(kAttentionIdAttrName); });
  }
};

} // namespace
