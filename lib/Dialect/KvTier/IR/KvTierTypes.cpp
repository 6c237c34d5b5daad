//===- KvTierTypes.cpp - kvtier types -------------------------------------===//
//
// Part of kv-opt. KV cache types and their derived byte sizes.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Dialect/KvTier/IR/KvTierTypes.h"
#include "kvopt/Core/Limits.h"
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

/// Checks that a positive parameter fits what the planner and the runtime
/// hold (kvopt/Core/Limits.h): nothing is truncated on the way.
static LogicalResult
checkLimit(function_ref<InFlightDiagnostic()> emitError, const char *name,
           int64_t value, int64_t limit) {
  if (value > limit)
    return emitError() << "cache parameter '" << name << "' = " << value
                       << " is above the supported limit of " << limit;
  return success();
}

/// Checks what every cache geometry shares. `bytesPerToken` is the bytes of
/// one token in one layer.
static LogicalResult
verifyGeometry(function_ref<InFlightDiagnostic()> emitError, int64_t layers,
               Type element, int64_t block, int64_t maxTokens, int64_t batch,
               int64_t bytesPerToken) {
  if (layers <= 0)
    return emitError() << "cache must have at least one layer, got " << layers;
  if (failed(checkLimit(emitError, "layers", layers, kvopt::kMaxLayers)) ||
      failed(checkLimit(emitError, "max_tokens", maxTokens,
                        kvopt::kMaxTokens)) ||
      failed(checkLimit(emitError, "batch", batch, kvopt::kMaxBatch)))
    return failure();
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
  // The whole cache in bytes must fit a signed 64-bit count.
  long double total = (long double)layers * batch * maxTokens * bytesPerToken;
  if (total > (long double)INT64_MAX)
    return emitError() << "cache of " << layers << " layers x " << batch
                       << " sequences x " << maxTokens << " tokens x "
                       << bytesPerToken
                       << " bytes does not fit a 64-bit byte count";
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
  if (failed(checkLimit(emitError, "kv_heads", kvHeads, kvopt::kMaxHeads)) ||
      failed(checkLimit(emitError, "head_dim", headDim, kvopt::kMaxHeadDim)))
    return failure();
  return verifyGeometry(emitError, layers, element, block, maxTokens, batch,
                        2 * kvHeads * headDim * elementBytes(element));
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
  if (failed(checkLimit(emitError, "latent", latent, kvopt::kMaxLatent)) ||
      failed(checkLimit(emitError, "rope", rope, kvopt::kMaxLatent)))
    return failure();
  return verifyGeometry(emitError, layers, element, block, maxTokens, batch,
                        (latent + rope) * elementBytes(element));
}

int64_t LatentCacheType::getBytesPerTokenPerLayer() const {
  return (getLatent() + getRope()) * elementBytes(getElement());
}
