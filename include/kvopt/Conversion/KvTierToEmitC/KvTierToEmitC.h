//===- KvTierToEmitC.h - kvtier ops to emitc calls into kvrt ----*- C++ -*-===//
//
// Part of kv-opt. Patterns that lower the kvtier ops of one decode step to
// `emitc` calls of the kvrt runtime's C API (runtime/include/kvrt) and of a
// few driver helpers (`kvopt_*`, defined by the emitted driver, see
// docs/lowering.md).
//
// Contract (the "step function ABI"): the kvtier ops live in an `emitc.func`
// whose argument 0 is the driver (`!emitc.ptr<!emitc.opaque<"kvopt_driver">>`)
// and argument 1 the decode step (`ui32`). All caches of the module share one
// runtime cache; `KvTierToEmitCLayout` says where each cache's layers start.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CONVERSION_KVTIERTOEMITC_KVTIERTOEMITC_H
#define KVOPT_CONVERSION_KVTIERTOEMITC_KVTIERTOEMITC_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>
#include "llvm/ADT/StringRef.h"

namespace mlir {
class RewritePatternSet;
class TypeConverter;
} // namespace mlir

namespace mlir::kvtier {

/// Argument positions of the step function (see the file comment).
constexpr unsigned kStepDriverArg = 0;
constexpr unsigned kStepIndexArg = 1;

/// Maps every cache SSA value (a `kvtier.cache` result, before conversion)
/// to the first runtime layer of that cache in the merged kvrt cache, as
/// KvCacheAnalysis numbers them (CacheInfo::layerBase).
struct KvTierToEmitCLayout {
  llvm::DenseMap<Value, unsigned> layerBase;

  /// First runtime layer of `cache`; nullopt for a value the layout does
  /// not know (the patterns then fail with an error at the op).
  std::optional<unsigned> lookup(Value cache) const {
    auto it = layerBase.find(cache);
    if (it == layerBase.end())
      return std::nullopt;
    return it->second;
  }
};

class MigrateOp;

/// The kvrt direction enumerator ("KVRT_PROMOTE" or "KVRT_DEMOTE") of a
/// migration, from the kinds of its tiers in the enclosing
/// kvtier.memory_system; "" when it is not an HBM <-> DRAM move (the runtime
/// knows exactly one tier of each kind).
llvm::StringRef getRuntimeDirection(MigrateOp op);

/// Adds the kvtier type conversions: both cache types become
/// `!emitc.ptr<!emitc.opaque<"kvrt_cache">>`, `!kvtier.migration` becomes
/// `!emitc.opaque<"kvrt_handle">`, and `index` becomes `!emitc.size_t`.
void populateKvTierToEmitCTypeConversions(TypeConverter &typeConverter);

/// Adds the patterns lowering kvtier.cache, append, attention, migrate and
/// wait to emitc. `layout` must outlive the patterns.
void populateKvTierToEmitCPatterns(TypeConverter &typeConverter,
                                   RewritePatternSet &patterns,
                                   const KvTierToEmitCLayout &layout);

} // namespace mlir::kvtier

#endif // KVOPT_CONVERSION_KVTIERTOEMITC_KVTIERTOEMITC_H
