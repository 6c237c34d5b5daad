//===- Matchers.h - raise-attention matchers (private) ----------*- C++ -*-===//
//
// Part of kv-opt. Private to lib/Transforms: the pieces the attention
// matchers share across files (classification of elementwise ops and
// reductions, dimension mapping, softmax forms, contractions and K/V
// tracing, cache roots and scatters, tensor-form and online-loop attention).
// The public entry points are in kvopt/Transforms/AttentionPatterns.h.
//
//===----------------------------------------------------------------------===//
#ifndef KVOPT_LIB_TRANSFORMS_RAISEATTENTION_MATCHERS_H
#define KVOPT_LIB_TRANSFORMS_RAISEATTENTION_MATCHERS_H

#include "kvopt/Transforms/AttentionPatterns.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <utility>

namespace mlir::linalg {
class GenericOp;
} // namespace mlir::linalg

namespace mlir::kvtier::raise {

/// Bound on use-def search depth, so that adversarial graphs stay cheap.
constexpr int kMaxDepth = 24;

//===----------------------------------------------------------------------===//
// Elementwise ops and reductions (Elementwise.cpp)
//===----------------------------------------------------------------------===//

/// The scalar function an elementwise op applies.
enum class EwKind {
  Exp,
  Log,
  Add,
  Sub,
  Mul,
  Div,
  Max,
  Reciprocal,
  Copy,
  /// exp(a - b) fused in one linalg.generic body (args: a, b).
  ExpSub,
  Other
};

/// A tensor op that applies one scalar function elementwise. `args[i]` is
/// the operand number of the i-th scalar argument, or -1 for a constant or
/// captured scalar.
struct Elementwise {
  EwKind kind = EwKind::Other;
  SmallVector<int> args;
};

/// The combiner of a reduction.
enum class ReductionKind { Sum, Max };

/// A reduction of `input` over its dimension `dim`.
struct Reduction {
  ReductionKind kind;
  Value input;
  int64_t dim;
};

/// Classifies a linalg.generic whose body applies one scalar op.
std::optional<Elementwise> classifyGeneric(linalg::GenericOp generic);

/// Classifies tosa, linalg named and arith/math ops on ranked tensors.
std::optional<Elementwise> classifyElementwise(Operation *op);

/// The tensor operand feeding scalar argument `i` of an elementwise op.
Value ewOperand(Operation *op, const Elementwise &ew, unsigned i);

/// Matches linalg.generic/linalg.reduce/tosa reductions of one dimension.
std::optional<Reduction> matchReduction(Operation *op);

//===----------------------------------------------------------------------===//
// Dimension mapping (DimMapping.cpp)
//===----------------------------------------------------------------------===//

/// Static shape of a shaped value (dynamic dims stay dynamic).
ArrayRef<int64_t> shapeOf(Value v);

/// Maps dim `dim` of value `from` (an operand or the result of `op`) to
/// value `to` (the other side).
std::optional<int64_t> mapDim(Operation *op, Value from, Value to,
                              int64_t dim);

/// True for ops that only move data (no arithmetic on elements), including
/// an add of a zero tensor (a broadcast written as arithmetic).
bool isDataMovement(Operation *op);

/// For `x + zeros` (either order, tosa/linalg/arith, zeros a splat constant
/// or a zero fill): `x`; null otherwise.
Value addZeroOperand(Operation *op);

/// The operand a data-movement op moves: the non-zero side of an add of
/// zeros, else operand 0.
Value dataOperand(Operation *op);

//===----------------------------------------------------------------------===//
// Softmax (Softmax.cpp)
//===----------------------------------------------------------------------===//

/// A softmax of `scores` over `dim`, producing `probs`.
struct SoftmaxInfo {
  SoftmaxForm form;
  Value scores, probs;
  int64_t dim;
  SmallVector<Operation *> ops;
};

/// Recognises a softmax rooted at `root` (an exp or a linalg.softmax).
std::optional<SoftmaxInfo> matchSoftmax(Operation *root);

/// For a tensor exp that matchSoftmax rejected but whose result is
/// sum-reduced (it looks like a softmax): what was found and what is
/// missing; empty when `root` does not look like a softmax.
std::string describeSoftmaxNearMiss(Operation *root);

/// For a scalar or vector math.exp of a difference inside a loop nest (a
/// softmax written as loops over memrefs) that matchLoopAttention could not
/// raise for the reason `why`: the outermost loop of the nest and what was
/// found and what is missing.
std::optional<std::pair<Operation *, std::string>>
describeLoopSoftmax(Operation *exp, StringRef why);

/// The outermost loop enclosing `op` within its function, or null.
Operation *outermostLoop(Operation *op);

/// Recognises attention written as loop nests over memrefs around the
/// softmax loop nest `nest`: an exp of `score - max` in it, a nest that
/// stores the Q·K scores from a read of a K buffer at the token index, and a
/// nest that reads the probabilities and V at the same token index. On
/// failure `why` names what was missing.
FailureOr<AttentionMatch> matchLoopNestAttention(Operation *nest,
                                                 std::string &why);

//===----------------------------------------------------------------------===//
// Contractions and K/V tracing (Contraction.cpp)
//===----------------------------------------------------------------------===//

/// A two-operand contraction with one contracted loop, as indexing maps.
struct Contraction {
  Operation *op;
  Value operands[2];
  AffineMap maps[2];
  AffineMap outMap;
  unsigned kLoop;
};

/// The K (or V) side of a contraction: its operand, its token dim and its
/// head dim; `other` is the remaining operand (Q or P).
struct ContractionSide {
  Value operand;
  int64_t tokenDim, headDim;
  Value other;
};

/// Where K or V comes from, with its token and head dims.
struct KvTrace {
  Value source;
  int64_t tokenDim, headDim;
  /// Product of the broadcast (GQA repeat) factors met on the way.
  int64_t repeat = 1;
  SmallVector<Operation *> ops;
  /// Dynamic length `n` of a `[0, n)` slice of the token dim, if any.
  Value readLength;
};

/// Recognises linalg contractions (matmul family, contraction generics)
/// and tosa.matmul.
std::optional<Contraction> getContraction(Operation *op);

/// Position of loop `loop` among the results of `map`.
std::optional<int64_t> loopPosition(AffineMap map, unsigned loop);

/// Q*K^T: the K side of a contraction whose output dim `outDim` is the
/// key-token dim.
std::optional<ContractionSide> keySide(const Contraction &c, int64_t outDim);

/// P*V: the V side of a contraction that contracts dim `dim` of `probs`.
std::optional<ContractionSide> valueSide(const Contraction &c, Value probs,
                                         int64_t dim);

/// Traces the scores up to the Q*K^T contraction.
std::optional<std::pair<Contraction, int64_t>>
traceScoresUp(Value v, int64_t dim, SmallVectorImpl<Operation *> &ops,
              DenseSet<std::pair<Value, int64_t>> &seen, int depth = 0);

/// Traces the probabilities down to the *V contraction.
std::optional<std::pair<Contraction, ContractionSide>>
traceProbsDown(Value v, int64_t dim, SmallVectorImpl<Operation *> &ops,
               int depth = 0);

/// Traces K or V up through data movement to the value the cache geometry
/// is read from.
KvTrace traceKvUp(Value v, int64_t tokenDim, int64_t headDim);

/// K/V geometry from the shape of a trace's source.
std::optional<KvGeometry> geometryOf(const KvTrace &trace);

//===----------------------------------------------------------------------===//
// Cache roots, scatters and the position (CacheSource.cpp)
//===----------------------------------------------------------------------===//

/// Fills the cache part of a match (sources, geometry, persistence,
/// position) from the K and V traces; sets `nearMiss` on inconsistency.
LogicalResult fillCache(AttentionMatch &match, const KvTrace &key,
                        const KvTrace &value, std::string &nearMiss);

/// Refuses a match whose query heads are not a multiple of its K/V heads
/// (GQA groups must be whole), with the reason in `nearMiss`.
LogicalResult checkHeads(const AttentionMatch &match, std::string &nearMiss);

/// Query heads from the query operand: all of its elements divided by the
/// head dim, the query tokens and the batch.
int64_t queryHeadsOf(Value query, int64_t headDim, int64_t batch,
                     int64_t queryTokens);

//===----------------------------------------------------------------------===//
// Reads in loops (OnlineLoop.cpp)
//===----------------------------------------------------------------------===//

/// A memory read inside a loop: its buffer and index operands.
struct Read {
  Operation *op;
  Value buffer;
  SmallVector<Value> indices;
};

/// Recognises memref/affine/vector loads and transfer reads with plain
/// indices.
std::optional<Read> asRead(Operation *op);

/// Ops inside `scope` that `v` depends on (including through the regions
/// of nested ops such as inner loops).
llvm::SetVector<Operation *> backwardSlice(Value v, Operation *scope);

/// True when `v` is the induction variable of a loop nested in `loop`.
bool isNestedIv(Value v, Operation *loop);

//===----------------------------------------------------------------------===//
// Attention forms (TensorAttention.cpp, OnlineLoop.cpp, LoopSoftmax.cpp)
//===----------------------------------------------------------------------===//

/// Attention around a tensor softmax: Q*K^T -> softmax -> *V.
FailureOr<AttentionMatch> matchTensorAttention(const SoftmaxInfo &softmax,
                                               std::string &nearMiss);

/// True when `loop` is a candidate: loop-carried values and an exp in its
/// own body.
bool isOnlineSoftmaxCandidate(LoopLikeOpInterface loop);

/// Recognises a fused online-softmax loop over the cached tokens.
FailureOr<AttentionMatch> matchOnlineLoop(LoopLikeOpInterface loop,
                                          std::string &nearMiss);

} // namespace mlir::kvtier::raise

#endif // KVOPT_LIB_TRANSFORMS_RAISEATTENTION_MATCHERS_H
