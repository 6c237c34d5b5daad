//===- KvCacheAnalysis.h - caches and attention of a module -----*- C++ -*-===//
//
// Part of kv-opt. A read-only analysis: which KV caches a module declares,
// which attention and append ops read and write each, and their byte sizes,
// in a deterministic order (program order). The planner queries it with
// getAnalysis<KvCacheAnalysis>().
//
// It is the one owner of the runtime layer numbering: the caches of a module
// are planned and run as one merged cache whose layers are the caches'
// layers in program order (cache i's layer l is runtime layer
// layerBase(i) + l). The planner, the schedule file (through the planner's
// workload), the emitc/CUDA driver and the runtime lowering all ask it.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_ANALYSIS_KVCACHEANALYSIS_H
#define KVOPT_ANALYSIS_KVCACHEANALYSIS_H

#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"
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
  /// First runtime layer of this cache in the merged runtime cache.
  unsigned layerBase = 0;

  /// Bytes of one token of one layer of one sequence.
  int64_t entryBytes() { return type.getBytesPerTokenPerLayer(); }
  /// Distinct layers read by attention, ascending.
  SmallVector<int64_t> attendedLayers() const;
};

/// Which fields caches must share to be merged into one runtime cache.
enum class SharedGeometry {
  /// The planner's workload: entry bytes, batch and block (max_tokens may
  /// differ: shorter caches are sliding-window layer groups).
  Planning,
  /// The kvrt runtime's single cache: additionally the same cache kind,
  /// kv_heads, head_dim and element type.
  Runtime,
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
  /// Bytes of all caches at full length (a cache with a `window` attribute:
  /// at its window's length).
  int64_t getTotalBytes() const;

  /// Layers of the merged runtime cache (all caches' layers).
  unsigned getNumRuntimeLayers() const;
  /// The entry of the cache `cache` is a result of, or null when it is not
  /// the result of a kvtier.cache of the analysed root.
  CacheInfo *lookup(Value cache);
  /// Runtime layer of `layer` of `cache`. An unknown cache value or a layer
  /// outside the cache is an error reported at `user` (never layer 0).
  FailureOr<unsigned> getRuntimeLayer(Operation *user, Value cache,
                                      int64_t layer);
  /// Checks that all caches share the fields `kind` needs; the error is at
  /// the first cache that differs (naming the field and both values), with a
  /// note at the first cache. `purpose` completes "caches ... must share".
  LogicalResult verifySharedGeometry(SharedGeometry kind,
                                     StringRef purpose) const;
  /// The longest cache's max_tokens: the sequence length planned.
  int64_t getMaxTokens() const;
  /// Sliding window of a cache's layers in tokens: its max_tokens when that
  /// is shorter than the longest cache's (a local layer group keeps only its
  /// most recent max_tokens tokens), 0 for the full-length (global) caches.
  int64_t getWindow(const CacheInfo &info) const;
  /// Every cache with its layers and geometry, for messages that must show
  /// the whole mix of layer groups.
  std::string describeGroups() const;

private:
  SmallVector<CacheInfo> caches;
  SmallVector<AttentionOp> unresolved;
  DenseMap<Operation *, unsigned> index;
};

} // namespace mlir::kvtier

#endif // KVOPT_ANALYSIS_KVCACHEANALYSIS_H
