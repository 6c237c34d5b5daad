//===- KvCacheAnalysis.h - caches and attention of a module -----*- C++ -*-===//
//
// Part of kv-opt. A read-only analysis: which KV caches a module declares,
// which attention and append ops read and write each, and their byte sizes,
// in a deterministic order (program order). The planner queries it with
// getAnalysis<KvCacheAnalysis>().
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_ANALYSIS_KVCACHEANALYSIS_H
#define KVOPT_ANALYSIS_KVCACHEANALYSIS_H

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir {
class AnalysisManager;
} // namespace mlir

namespace mlir::kvtier {

/// One declared cache and the ops that use it.
struct CacheInfo {
  CacheOp op;
  KvCacheTypeInterface type;
  SmallVector<AttentionOp> attention;
  SmallVector<AppendOp> appends;
  SmallVector<MigrateOp> migrations;

  /// Bytes of one token of one layer of one sequence.
  int64_t entryBytes() { return type.getBytesPerTokenPerLayer(); }
  /// Distinct layers read by attention, ascending.
  SmallVector<int64_t> attendedLayers() const;
};

class KvCacheAnalysis {
public:
  KvCacheAnalysis(Operation *root);
  KvCacheAnalysis(Operation *root, AnalysisManager &) : KvCacheAnalysis(root) {}

  /// Caches in program order.
  MutableArrayRef<CacheInfo> getCaches() { return caches; }
  /// Attention ops whose cache is not declared by a kvtier.cache op (a block
  /// argument, say): the planner cannot size them and reports them.
  ArrayRef<AttentionOp> getUnresolvedAttention() const { return unresolved; }
  /// Number of attention ops over all caches.
  unsigned getNumAttention() const;
  /// The sparsity hint shared by all attention ops that carry one; nullopt
  /// when none carries one. `conflict` is set to an op that disagrees.
  std::optional<double> getSparsityHint(AttentionOp *conflict = nullptr) const;
  /// Bytes of all caches at full length.
  int64_t getTotalBytes() const;

private:
  SmallVector<CacheInfo> caches;
  SmallVector<AttentionOp> unresolved;
};

} // namespace mlir::kvtier

#endif // KVOPT_ANALYSIS_KVCACHEANALYSIS_H
