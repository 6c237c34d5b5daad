//===- DriverModel.h - what an emitted decode driver needs ------*- C++ -*-===//
//
// Part of kv-opt. The facts the CUDA driver is written from, gathered from a
// planned module and checked against it and its schedule side file, plus
// the two halves of the emitter: the step function (kvtier -> emitc -> C++)
// and the setup / main code around it.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_TARGET_CUDA_DRIVERMODEL_H
#define KVOPT_LIB_TARGET_CUDA_DRIVERMODEL_H

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Target/EmitCuda.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::kvtier {

/// One declared cache and where its layers sit in the merged runtime cache.
struct DriverCache {
  CacheOp op;
  unsigned layerBase = 0;
  /// Sliding window of its layers in tokens (0 = global): its max_tokens
  /// when shorter than the longest cache's (KvCacheAnalysis::getWindow).
  int64_t window = 0;
};

/// Everything the emitted driver is written from.
struct DriverModel {
  ModuleOp module;
  PlanAttr plan;
  /// The function holding the step's kvtier ops.
  func::FuncOp decode;
  /// Caches in program order; all share `geometry` but for `layers` and
  /// `max_tokens` (a shorter cache is a sliding-window layer group).
  SmallVector<DriverCache> caches;
  /// The longest cache's type: the runtime cache's shape.
  CacheType geometry;
  /// Per runtime layer its window in tokens (0 = global); any nonzero makes
  /// the plan windowed (its schedule file must carry the same windows).
  SmallVector<int64_t> windows;
  bool windowed = false;
  /// Merged runtime cache shape.
  int64_t layers = 0, qHeads = 0, blocksPerSeq = 0, blocksPerLayer = 0;
  /// kvrt_dtype enumerator of the element type.
  std::string dtype;
  /// HBM blocks the plan may use (from the memory system and the model) and
  /// the HBM slots the driver allocates (at most the cache's blocks).
  int64_t hbmPlanBlocks = 0, hbmSlots = 0;
  int64_t promptTokens = 0, decodeSteps = 0;
  uint64_t seed = 42;
  std::string schedulePath;
  int64_t scheduleMigrations = 0;
  /// kvtier.migrate ops in the decode step (moves outside the plan).
  int64_t irMigrations = 0;
};

/// Gathers and checks the driver model. Errors name the op (or the module)
/// at fault; the schedule file is read and matched against the caches.
FailureOr<DriverModel> buildDriverModel(ModuleOp module,
                                        const EmitCudaOptions &options);

/// Builds the step function `kvopt_step` (emitc) from the decode function:
/// the kvtier ops and the arith ops computing their operands, lowered with
/// the kvtier -> emitc and arith -> emitc patterns.
FailureOr<OwningOpRef<ModuleOp>> buildStepModule(const DriverModel &model);

/// Writes the driver around the C++ of the step module.
void writeDriverSource(const DriverModel &model, StringRef stepSource,
                       llvm::raw_ostream &os);

} // namespace mlir::kvtier

#endif // KVOPT_LIB_TARGET_CUDA_DRIVERMODEL_H
