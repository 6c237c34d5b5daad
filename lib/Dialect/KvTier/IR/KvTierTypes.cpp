//===- KvTierTypes.cpp - kvtier types -------------------------------------===//
//
// Part of kv-opt. KV cache types and their derived byte sizes.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierTypes.h"
#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kvtier;

#include "kvopt/Dialect/KvTier/IR/KvTierTypeInterfaces.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "kvopt/Dialect/KvTier/IR/KvTierOpsTypes.cpp.inc"

void KvTierDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kvopt/Dialect/KvTier/IR/KvTierOpsTypes.cpp.inc"
      >();
}

/// Bytes of one element, or 0 if `type` is not a whole-byte int/float.
static int64_t elementBytes(Type type) {
  if (!type || !type.isIntOrFloat())
    return 0;
  unsigned bits = type.getIntOrFloatBitWidth();
  return bits % 8 == 0 ? bits / 8 : 0;
}

/// Checks what every cache geometry shares.
static LogicalResult
verifyGeometry(function_ref<InFlightDiagnostic()> emitError, int64_t layers,
               Type element, int64_t block, int64_t maxTokens, int64_t batch) {
  if (layers <= 0)
    return emitError() << "cache must have at least one layer, got " << layers;
  if (elementBytes(element) == 0)
    return emitError() << "cache element type must be an integer or float "
                          "type of whole bytes, got "
                       << element;
  if (block <= 0)
    return emitError() << "cache block must hold at least one token, got "
                       << block;
  if (maxTokens <= 0)
    return emitError() << "cache max_tokens must be positive, got "
                       << maxTokens;
  if (block > maxTokens)
    return emitError() << "cache block (" << block
                       << " tokens) is larger than the cache (max_tokens = "
                       << maxTokens << ")";
  if (batch <= 0)
    return emitError() << "cache batch must be positive, got " << batch;
  return success();
}

LogicalResult CacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t layers, int64_t kvHeads,
                                int64_t headDim, Type element, int64_t block,
                                int64_t maxTokens, int64_t batch) {
  if (kvHeads <= 0)
    return emitError() << "cache must have at least one KV head, got "
                       << kvHeads;
  if (headDim <= 0)
    return emitError() << "cache head_dim must be positive, got " << headDim;
  return verifyGeometry(emitError, layers, element, block, maxTokens, batch);
}

int64_t CacheType::getBytesPerTokenPerLayer() const {
  return 2 * getKvHeads() * getHeadDim() * elementBytes(getElement());
}

LogicalResult
LatentCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                        int64_t layers, int64_t latent, int64_t rope,
                        Type element, int64_t block, int64_t maxTokens,
                        int64_t batch) {
  if (latent <= 0)
    return emitError() << "latent cache latent size must be positive, got "
                       << latent;
  if (rope < 0)
    return emitError() << "latent cache rope size must be non-negative, got "
                       << rope;
  return verifyGeometry(emitError, layers, element, block, maxTokens, batch);
}

int64_t LatentCacheType::getBytesPerTokenPerLayer() const {
  return (getLatent() + getRope()) * elementBytes(getElement());
}
