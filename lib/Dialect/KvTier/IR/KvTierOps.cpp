//===- KvTierOps.cpp - kvtier operations ----------------------------------===//
//
// Part of kv-opt. Verifiers of the kvtier operations.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::kvtier;

#define GET_OP_CLASSES
#include "kvopt/Dialect/KvTier/IR/KvTierOps.cpp.inc"

/// Checks that `layer` indexes a layer of `cache`.
static LogicalResult verifyLayer(Operation *op, KvCacheTypeInterface cache,
                                 int64_t layer) {
  if (layer < 0 || layer >= cache.getLayers())
    return op->emitOpError("layer ")
           << layer << " is out of range for a cache of " << cache.getLayers()
           << " layers";
  return success();
}

LogicalResult CacheOp::verify() {
  if (getName().empty())
    return emitOpError("cache name must not be empty");
  auto type = cast<KvCacheTypeInterface>(getCache().getType());
  if (std::optional<uint64_t> window = getWindow())
    if (int64_t(*window) >= type.getMaxTokens())
      return emitOpError("window (")
             << *window << " tokens) must be below max_tokens ("
             << type.getMaxTokens()
             << "): a window that covers every token is global attention; "
                "drop the attribute";
  if (std::optional<PlacementAttr> placement = getPlacement()) {
    int64_t total =
        type.getLayers() * type.getBatch() * type.getBlocksPerLayer();
    if (placement->getTotalBlocks() != total)
      return emitOpError("placement total_blocks (")
             << placement->getTotalBlocks()
             << ") does not match the cache geometry (" << total << " blocks)";
  }
  return success();
}

LogicalResult AppendOp::verify() {
  return verifyLayer(*this, getCache().getType(), getLayer());
}

LogicalResult AttentionOp::verify() {
  KvCacheTypeInterface cache = getCache().getType();
  if (failed(verifyLayer(*this, cache, getLayer())))
    return failure();
  if (std::optional<llvm::APFloat> hint = getSparsity()) {
    double sparsity = hint->convertToDouble();
    if (!(sparsity >= 0.0 && sparsity < 1.0))
      return emitOpError("sparsity must be in [0, 1), got ") << sparsity;
  }
  Value query = getQuery();
  Value result = getResult();
  if (static_cast<bool>(query) != static_cast<bool>(result))
    return emitOpError("query and result must be given together");
  if (!query)
    return success();
  if (query.getType() != result.getType())
    return emitOpError("result type ")
           << result.getType() << " must equal the query type "
           << query.getType();
  auto queryType = cast<RankedTensorType>(query.getType());
  if (auto mha = dyn_cast<CacheType>(cache)) {
    int64_t last = queryType.getRank() ? queryType.getShape().back() : 0;
    if (!ShapedType::isDynamic(last) && last != mha.getHeadDim())
      return emitOpError("query inner dimension ")
             << last << " does not match the cache head_dim "
             << mha.getHeadDim();
  }
  return success();
}

LogicalResult MigrateOp::verify() {
  KvCacheTypeInterface cache = getCache().getType();
  if (failed(verifyLayer(*this, cache, getLayer())))
    return failure();
  if (getFrom() == getTo())
    return emitOpError("migration from tier '")
           << getFrom() << "' to itself";
  if (MemorySystemAttr sys = lookupMemorySystem(*this)) {
    for (StringRef tier : {getFrom(), getTo()})
      if (!sys.lookupTier(tier))
        return emitOpError("unknown tier '")
               << tier << "' (not in the enclosing kvtier.memory_system)";
    if (!sys.lookupLink(getFrom(), getTo()))
      return emitOpError("no link from tier '")
             << getFrom() << "' to tier '" << getTo() << "'";
  }
  int64_t blocks = cache.getBatch() * cache.getBlocksPerLayer();
  APInt first, count;
  bool haveFirst = matchPattern(getFirst(), m_ConstantInt(&first));
  bool haveCount = matchPattern(getCount(), m_ConstantInt(&count));
  if (haveCount && count.getSExtValue() <= 0)
    return emitOpError("block count must be positive, got ")
           << count.getSExtValue();
  if (haveFirst && (first.getSExtValue() < 0 ||
                    first.getSExtValue() >= blocks))
    return emitOpError("first block ")
           << first.getSExtValue() << " is out of range [0, " << blocks << ")";
  if (haveFirst && haveCount &&
      first.getSExtValue() + count.getSExtValue() > blocks)
    return emitOpError("block range [")
           << first.getSExtValue() << ", "
           << first.getSExtValue() + count.getSExtValue()
           << ") exceeds the cache's " << blocks << " blocks per layer";
  return success();
}
