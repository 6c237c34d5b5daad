//===- AttentionPatterns.h - recognise attention in upstream IR -*- C++ -*-===//
//
// Part of kv-opt. Matchers that find decode attention (Q*K^T, softmax, *V)
// in upstream-dialect graphs (linalg, tensor, tosa, memref, affine/scf
// loops), and patterns that annotate it with the kvtier dialect. Other
// pipelines reuse them through populateRaiseAttentionPatterns() or call
// matchAttention() directly.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_TRANSFORMS_ATTENTIONPATTERNS_H
#define KVOPT_TRANSFORMS_ATTENTIONPATTERNS_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace mlir {
class DominanceInfo;
} // namespace mlir

namespace mlir::kvtier {

/// Discardable attribute that tags every upstream op of a matched attention
/// with the id of its `kvtier.attention` (an i64).
inline constexpr llvm::StringLiteral kAttentionIdAttrName =
    "kvtier.attention_id";

/// How the softmax of a matched attention is written.
enum class SoftmaxForm {
  /// `linalg.softmax`.
  LinalgSoftmax,
  /// exp, sum-reduce, then divide (or multiply by the reciprocal), with or
  /// without the max subtraction; linalg.generic, linalg named or tosa ops.
  ExpSumDiv,
  /// exp(x - (max + log(sum(exp(x - max))))): log-sum-exp normalisation.
  LogSumExp,
  /// A fused loop over the cached tokens with a running maximum, exp
  /// rescaling, a running sum and an accumulator (flash-decoding style).
  OnlineLoop,
  /// Loop nests over memrefs: a Q·K nest storing scores, exp(score - max)
  /// and sum loops, and a nest reading the probabilities and V (an eager
  /// decode lowered to affine/scf/vector loops, e.g. GPT-2).
  LoopNests,
};

/// Human-readable name of a softmax form, used in remarks and docs.
llvm::StringRef stringifySoftmaxForm(SoftmaxForm form);

/// Geometry of the keys/values an attention reads, as the cache declares it.
struct KvGeometry {
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  /// Length of the cached sequence (the K/V token dimension).
  int64_t tokens = 0;
  /// Independent sequences (leading batch dimension of the K/V source).
  int64_t batch = 1;
  Type element;
};

/// Where the position of the token being decoded comes from.
struct PositionSource {
  enum class Kind {
    /// No scatter of the new token was found.
    None,
    /// `value` is the index (or integer) used by the scatter.
    Value,
    /// The scatter offset is the static `offset`.
    StaticOffset,
    /// The scatter index is read, per element, from `value` (a tensor whose
    /// elements all hold the position); element 0 is the position.
    TensorElement,
  };
  Kind kind = Kind::None;
  Value value;
  int64_t offset = 0;
  /// The op that writes the new token into the cache, if found.
  Operation *scatter = nullptr;
};

/// One attention recognised in an upstream graph.
struct AttentionMatch {
  SoftmaxForm form = SoftmaxForm::ExpSumDiv;
  /// `kvtier.attention` is inserted right after this op.
  Operation *anchor = nullptr;
  /// The upstream ops of the attention (contractions, softmax, data
  /// movement, scatters, fused loop); every one is tagged.
  SmallVector<Operation *> ops;
  KvGeometry geometry;
  /// Query heads (equal to kvHeads unless the attention is GQA/MQA).
  int64_t queryHeads = 0;
  /// The values the keys and values are read from (a cache or activations).
  Value keySource;
  Value valueSource;
  /// True when K/V come from a persistent cache (a function argument, a
  /// buffer written by a scatter), false when they are activations.
  bool persistentCache = false;
  PositionSource position;
};

/// Counters a pass can read back after applying the patterns.
struct RaiseAttentionCounters {
  unsigned attention = 0;
  unsigned nearMisses = 0;
  unsigned errors = 0;
};

/// Options of the raise patterns.
struct RaiseAttentionConfig {
  /// Block size (tokens) of the declared caches. A cache shorter than this
  /// gets the largest power of two dividing its length, with a warning.
  int64_t blockTokens = 16;
  /// Emit a remark per attention found and per near miss.
  bool emitRemarks = true;
  /// Optional counters, updated by the patterns.
  RaiseAttentionCounters *counters = nullptr;
};

/// Tries to recognise an attention whose softmax is rooted at `root`: an
/// exp (linalg.generic, linalg.exp, math.exp or tosa.exp on tensors), a
/// `linalg.softmax`, or a fused online-softmax loop (affine.for/scf.for).
/// On failure, `nearMiss` is set to a sentence naming what was missing when
/// `root` is a softmax (or online-softmax loop candidate) that could not be
/// proven to be attention, and left empty when `root` is no candidate.
FailureOr<AttentionMatch> matchAttention(Operation *root,
                                         std::string &nearMiss);

/// Declares the cache of `match` (one layer) at the top of the enclosing
/// isolated region, inserts `kvtier.attention` after the anchor and tags
/// the matched ops with `id`. `dominance` (optional) is reused to place the
/// position; without it one is built for this call.
LogicalResult emitAttention(RewriterBase &rewriter, const AttentionMatch &match,
                            const RaiseAttentionConfig &config, int64_t id,
                            DominanceInfo *dominance = nullptr);

/// Adds the patterns that raise attention (tensor softmax forms and fused
/// online-softmax loops) with the given configuration. Apply them with
/// `walkAndApplyPatterns` so that the upstream ops are neither folded nor
/// erased; each attention declares its own one-layer cache.
void populateRaiseAttentionPatterns(RewritePatternSet &patterns,
                                    const RaiseAttentionConfig &config);

/// Same, with the default configuration.
void populateRaiseAttentionPatterns(RewritePatternSet &patterns);

} // namespace mlir::kvtier

#endif // KVOPT_TRANSFORMS_ATTENTIONPATTERNS_H
