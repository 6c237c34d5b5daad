//===- RaiseAttention.cpp - raise upstream attention to kvtier ------------===//
//
// Part of kv-opt. The `kvtier-raise-attention` pass: applies the attention
// patterns of AttentionPatterns.cpp with a walk driver (no folding, no dead
// code elimination, so the upstream ops stay exactly as they were), then
// groups the one-layer caches the patterns declared: within one function,
// the attentions whose caches share a geometry become the layers of one
// `kvtier.cache`, numbered in program order.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/AttentionPatterns.h"
#include "kvopt/Transforms/Passes.h"

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Dialect/KvTier/IR/KvTierTypes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <string>

namespace mlir::kvtier {
#define GEN_PASS_DEF_RAISEATTENTION
#include "kvopt/Transforms/Passes.h.inc"
} // namespace mlir::kvtier

using namespace mlir;
using namespace mlir::kvtier;

namespace {

/// Id of the attention reading `cache` (its only user).
int64_t attentionIdOf(CacheOp cache) {
  for (Operation *user : cache->getUsers())
    if (auto id = user->getAttrOfType<IntegerAttr>(kAttentionIdAttrName))
      return id.getInt();
  return -1;
}

/// The single `kvtier.attention` reading a cache declared by the patterns.
AttentionOp attentionOf(CacheOp cache) {
  for (Operation *user : cache->getUsers())
    if (auto attention = dyn_cast<AttentionOp>(user))
      return attention;
  return {};
}

/// Prefix of the grouped cache names: the enclosing symbol's name.
std::string cachePrefix(Block *block) {
  Operation *scope = block->getParentOp();
  if (auto symbol =
          scope->getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName()))
    return symbol.getValue().str();
  return "kv";
}

/// Replaces the one-layer caches of `caches` (sorted by attention id) by
/// one cache of `caches.size()` layers named `name`.
void mergeCaches(ArrayRef<CacheOp> caches, StringRef name) {
  CacheOp front = caches.front();
  auto first = cast<CacheType>(front.getType());
  auto merged =
      CacheType::get(first.getContext(), static_cast<int64_t>(caches.size()),
                     first.getKvHeads(), first.getHeadDim(), first.getElement(),
                     first.getBlock(), first.getMaxTokens(), first.getBatch());
  OpBuilder builder(front);
  Operation *earliest = front;
  for (CacheOp cache : caches)
    if (cache->isBeforeInBlock(earliest))
      earliest = cache;
  builder.setInsertionPoint(earliest);
  auto cache = CacheOp::create(builder, earliest->getLoc(), merged,
                               builder.getStringAttr(name), nullptr, nullptr);
  for (auto [layer, old] : llvm::enumerate(caches)) {
    if (AttentionOp attention = attentionOf(old)) {
      attention.getCacheMutable().assign(cache);
      attention.setLayer(static_cast<uint64_t>(layer));
    }
    old->erase();
  }
}

/// Groups the caches declared by this run (not in `before`) per block and
/// geometry, in program order, and merges each group into one cache named
/// `<function>.kv<g>`, skipping names the module already uses.
void groupLayers(ModuleOp module, const llvm::DenseSet<Operation *> &before) {
  llvm::StringSet<> usedNames;
  for (Operation *op : before)
    usedNames.insert(cast<CacheOp>(op).getName());
  llvm::MapVector<std::pair<Block *, Type>, SmallVector<CacheOp>> groups;
  module.walk([&](CacheOp cache) {
    if (!before.contains(cache) && attentionOf(cache))
      groups[{cache->getBlock(), cache.getType()}].push_back(cache);
  });
  llvm::DenseMap<Block *, unsigned> perBlock;
  for (auto &[key, caches] : groups) {
    llvm::stable_sort(caches, [](CacheOp a, CacheOp b) {
      return attentionIdOf(a) < attentionIdOf(b);
    });
    std::string name;
    do {
      unsigned index = perBlock[key.first]++;
      name = cachePrefix(key.first) + ".kv" + std::to_string(index);
    } while (usedNames.contains(name));
    usedNames.insert(name);
    mergeCaches(caches, name);
  }
}

struct RaiseAttentionPass
    : kvtier::impl::RaiseAttentionBase<RaiseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockTokens <= 0) {
      // At the module's location only: the module itself is never printed.
      emitError(module.getLoc(),
                "kvtier-raise-attention: block must be positive, got ")
          << blockTokens.getValue();
      return signalPassFailure();
    }
    llvm::DenseSet<Operation *> before;
    module.walk([&](CacheOp cache) { before.insert(cache); });

    RaiseAttentionCounters counters;
    RaiseAttentionConfig config;
    config.blockTokens = blockTokens;
    config.emitRemarks = emitRemarks;
    config.counters = &counters;
    RewritePatternSet patterns(&getContext());
    populateRaiseAttentionPatterns(patterns, config);
    walkAndApplyPatterns(module, std::move(patterns));

    numAttention += counters.attention;
    numNearMisses += counters.nearMisses;
    if (counters.errors)
      return signalPassFailure();
    groupLayers(module, before);
  }
};

} // namespace
