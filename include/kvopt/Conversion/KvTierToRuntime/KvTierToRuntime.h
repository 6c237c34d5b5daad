//===- KvTierToRuntime.h - raised attention -> kvrt calls -------*- C++ -*-===//
//
// Part of kv-opt. Patterns that lower a raised, planned `kvtier.attention`
// inside the user's own program: the upstream attention ops it annotates
// (the Q.K^T contraction, the softmax, the .V contraction) are replaced by
// one `func.call @kvrt_mlir_attention` on memrefs - the kvrt runtime's
// append of the token the graph writes into its cache plus its split-tier
// attention over the planned placement, with the schedule's migrations of
// the (step, layer) issued first (runtime/lib/MlirShim.cpp). Every other op
// is left to the user's upstream pipeline. See docs/lowering.md.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_CONVERSION_KVTIERTORUNTIME_KVTIERTORUNTIME_H
#define KVOPT_CONVERSION_KVTIERTORUNTIME_KVTIERTORUNTIME_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class RewritePatternSet;
class Operation;
} // namespace mlir

namespace mlir::kvtier {

class AttentionOp;
class KvCacheAnalysis;

/// Name of the runtime entry point the lowering calls (C interface:
/// `_mlir_ciface_kvrt_mlir_attention` in libkvrt_mlir).
inline constexpr llvm::StringLiteral kRuntimeAttentionFn =
    "kvrt_mlir_attention";

/// Its variant for attention over the whole cache with an additive mask
/// (the TOSA form): the mask is checked to hide exactly the tokens after
/// the position.
inline constexpr llvm::StringLiteral kRuntimeMaskedAttentionFn =
    "kvrt_mlir_attention_masked";

/// What the lowering needs besides the IR.
struct KvTierToRuntimeOptions {
  /// The schedule side file the runtime executes (the plan's `file`).
  std::string schedulePath;
  /// HBM blocks of the runtime cache when the schedule records no capacity.
  int64_t hbmBlocks = 0;
  /// Runtime layer numbering (KvCacheAnalysis of the module); must outlive
  /// the patterns.
  KvCacheAnalysis *analysis = nullptr;
};

/// Why `op` cannot be lowered to the runtime (empty when it can): the
/// supported form is documented in docs/lowering.md.
std::string checkRuntimeLowering(AttentionOp op);

/// Adds the pattern lowering supported `kvtier.attention` ops (and the
/// upstream attention they annotate) to runtime calls. Unsupported ones are
/// left alone; the pass reports them and keeps their upstream computation.
void populateKvTierToRuntimePatterns(RewritePatternSet &patterns,
                                     const KvTierToRuntimeOptions &options);

} // namespace mlir::kvtier

#endif // KVOPT_CONVERSION_KVTIERTORUNTIME_KVTIERTORUNTIME_H
