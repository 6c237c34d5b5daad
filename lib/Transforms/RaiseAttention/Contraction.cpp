//===- Contraction.cpp - contractions and K/V tracing ---------------------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Recognises Q*K^T and P*V contractions (linalg matmul family,
// contraction generics, tosa.matmul) and traces scores, probabilities and
// K/V through data movement to the values the cache geometry comes from.
//
//===----------------------------------------------------------------------===//

#include "Matchers.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace mlir::kvtier::raise {

/// Recognises linalg contractions (matmul family, contraction generics)
/// and tosa.matmul.
std::optional<Contraction> getContraction(Operation *op) {
  MLIRContext *ctx = op ? op->getContext() : nullptr;
  if (auto matmul = dyn_cast_or_null<tosa::MatMulOp>(op)) {
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    return Contraction{op,
                       {matmul.getA(), matmul.getB()},
                       {AffineMap::get(4, 0, {d(0), d(1), d(3)}, ctx),
                        AffineMap::get(4, 0, {d(0), d(3), d(2)}, ctx)},
                       AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx),
                       3};
  }
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  if (!linalgOp || linalgOp.getNumDpsInputs() != 2 ||
      linalgOp.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(linalgOp))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(linalgOp);
  if (failed(dims) || dims->k.size() != 1)
    return std::nullopt;
  SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
  return Contraction{op,
                     {linalgOp.getDpsInputs()[0], linalgOp.getDpsInputs()[1]},
                     {maps[0], maps[1]},
                     maps[2],
                     dims->k.front()};
}

/// Position of loop `loop` among the results of `map`.
std::optional<int64_t> loopPosition(AffineMap map, unsigned loop) {
  std::optional<unsigned> pos =
      map.getResultPosition(getAffineDimExpr(loop, map.getContext()));
  return pos ? std::optional<int64_t>(*pos) : std::nullopt;
}

/// Q*K^T: output dim `outDim` is the key-token dim; K is the operand that
/// carries it as a free dim, and its contracted dim is the head dim.
std::optional<ContractionSide> keySide(const Contraction &c, int64_t outDim) {
  auto loop = dyn_cast<AffineDimExpr>(c.outMap.getResult(outDim));
  if (!loop || loop.getPosition() == c.kLoop)
    return std::nullopt;
  std::optional<int64_t> pos[2] = {loopPosition(c.maps[0], loop.getPosition()),
                                   loopPosition(c.maps[1], loop.getPosition())};
  if (pos[0].has_value() == pos[1].has_value())
    return std::nullopt; // a batch dim, or absent: not a key-token dim
  int side = pos[0] ? 0 : 1;
  std::optional<int64_t> head = loopPosition(c.maps[side], c.kLoop);
  if (!head)
    return std::nullopt;
  return ContractionSide{c.operands[side], *pos[side], *head,
                         c.operands[1 - side]};
}

/// P*V: dim `dim` of operand `probs` must be contracted; V is the other
/// operand, whose contracted dim holds the tokens and whose one free dim
/// (absent from P) is the head dim.
std::optional<ContractionSide> valueSide(const Contraction &c, Value probs,
                                         int64_t dim) {
  int side = c.operands[0] == probs ? 0 : (c.operands[1] == probs ? 1 : -1);
  if (side < 0 || dim >= c.maps[side].getNumResults())
    return std::nullopt;
  auto loop = dyn_cast<AffineDimExpr>(c.maps[side].getResult(dim));
  if (!loop || loop.getPosition() != c.kLoop)
    return std::nullopt;
  AffineMap vMap = c.maps[1 - side];
  std::optional<int64_t> token = loopPosition(vMap, c.kLoop), head;
  for (auto [i, expr] : llvm::enumerate(vMap.getResults())) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (!d || d.getPosition() == c.kLoop ||
        loopPosition(c.maps[side], d.getPosition()))
      continue;
    if (head)
      return std::nullopt;
    head = i;
  }
  if (!token || !head)
    return std::nullopt;
  return ContractionSide{c.operands[1 - side], *token, *head, probs};
}

//===----------------------------------------------------------------------===//
// Tracing scores, probabilities and K/V
//===----------------------------------------------------------------------===//

/// Traces the scores up to the Q*K^T contraction through elementwise ops
/// (scaling, masking, max subtraction) and data movement.
std::optional<std::pair<Contraction, int64_t>>
traceScoresUp(Value v, int64_t dim, SmallVectorImpl<Operation *> &ops,
              DenseSet<std::pair<Value, int64_t>> &seen, int depth) {
  Operation *def = v.getDefiningOp();
  if (!def || depth > kMaxDepth || !seen.insert({v, dim}).second)
    return std::nullopt;
  if (std::optional<Contraction> c = getContraction(def))
    return std::make_pair(*c, dim);
  if (def->getNumResults() != 1)
    return std::nullopt;
  for (Value operand : def->getOperands()) {
    if (!isa<RankedTensorType>(operand.getType()))
      continue;
    std::optional<int64_t> od = mapDim(def, v, operand, dim);
    if (!od)
      continue;
    if (auto found = traceScoresUp(operand, *od, ops, seen, depth + 1)) {
      ops.push_back(def);
      return found;
    }
  }
  return std::nullopt;
}

/// Traces the probabilities down to the *V contraction that contracts the
/// softmax dim.
std::optional<std::pair<Contraction, ContractionSide>>
traceProbsDown(Value v, int64_t dim, SmallVectorImpl<Operation *> &ops,
               int depth) {
  if (depth > kMaxDepth)
    return std::nullopt;
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (std::optional<Contraction> c = getContraction(user)) {
      if (auto side = valueSide(*c, v, dim))
        return std::make_pair(*c, *side);
      continue;
    }
    if (user->getNumResults() != 1 ||
        !isa<RankedTensorType>(user->getResult(0).getType()))
      continue;
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(user))
      if (dps.isDpsInit(&use))
        continue;
    std::optional<int64_t> rd = mapDim(user, v, user->getResult(0), dim);
    if (!rd)
      continue;
    if (auto found = traceProbsDown(user->getResult(0), *rd, ops, depth + 1)) {
      ops.push_back(user);
      return found;
    }
  }
  return std::nullopt;
}

/// The dynamic length of a `[0, n)` slice of dim `dim`, or null.
Value sliceReadLength(Operation *op, int64_t dim) {
  auto slice = dyn_cast<tensor::ExtractSliceOp>(op);
  if (!slice || dim >= static_cast<int64_t>(slice.getMixedSizes().size()))
    return {};
  std::optional<int64_t> offset =
      getConstantIntValue(slice.getMixedOffsets()[dim]);
  if (!offset || *offset != 0)
    return {};
  return dyn_cast<Value>(slice.getMixedSizes()[dim]);
}

/// Product of the output dims a broadcast-like op adds (GQA repeat factor).
int64_t broadcastFactor(Operation *op) {
  // tosa.tile and x + zeros: the ratio of the element counts.
  if (isa<tosa::TileOp>(op) || addZeroOperand(op)) {
    auto in = cast<ShapedType>(dataOperand(op).getType());
    auto out = cast<ShapedType>(op->getResult(0).getType());
    if (!in.hasStaticShape() || !out.hasStaticShape())
      return 1;
    return out.getNumElements() / std::max<int64_t>(in.getNumElements(), 1);
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || linalgOp.getNumDpsInputs() != 1)
    return 1;
  AffineMap inMap =
      linalgOp.getMatchingIndexingMap(linalgOp.getDpsInputOperand(0));
  AffineMap outMap =
      linalgOp.getIndexingMapMatchingResult(cast<OpResult>(op->getResult(0)));
  int64_t factor = 1;
  ArrayRef<int64_t> outShape = shapeOf(op->getResult(0));
  for (auto [i, expr] : llvm::enumerate(outMap.getResults())) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (d && !inMap.getResultPosition(d) && !ShapedType::isDynamic(outShape[i]))
      factor *= outShape[i];
  }
  return factor;
}

/// True when the token and head dims of `v` have static sizes.
bool hasStaticKvDims(Value v, int64_t tokenDim, int64_t headDim) {
  auto type = dyn_cast<ShapedType>(v.getType());
  return type && type.hasRank() && !type.isDynamicDim(tokenDim) &&
         !type.isDynamicDim(headDim);
}

/// Traces K or V up through data movement (transposes, reshapes, GQA
/// broadcasts, slices of a cache) as long as the token and head dims can be
/// followed; the source is the furthest value reached whose token and head
/// dims are static (a `[0, pos)` slice leads to the static cache).
KvTrace traceKvUp(Value v, int64_t tokenDim, int64_t headDim) {
  KvTrace current{v, tokenDim, headDim, 1, {}};
  KvTrace best = current;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    Operation *def = current.source.getDefiningOp();
    if (!def || !isDataMovement(def) || def->getNumResults() != 1)
      break;
    Value operand = dataOperand(def);
    std::optional<int64_t> tok =
        mapDim(def, current.source, operand, current.tokenDim);
    std::optional<int64_t> head =
        mapDim(def, current.source, operand, current.headDim);
    if (!tok || !head)
      break;
    current.repeat *= broadcastFactor(def);
    current.ops.push_back(def);
    if (Value length = sliceReadLength(def, *tok))
      current.readLength = length;
    current.source = operand;
    current.tokenDim = *tok;
    current.headDim = *head;
    if (hasStaticKvDims(operand, *tok, *head))
      best = current;
  }
  best.ops = std::move(current.ops);
  best.readLength = current.readLength;
  return best;
}

/// K/V geometry from a source shape: tokens and head dim from the tracked
/// dims; of the remaining dims, the first is the batch and the rest are
/// heads (a single remaining dim holds the heads).
std::optional<KvGeometry> geometryOf(const KvTrace &trace) {
  auto type = cast<ShapedType>(trace.source.getType());
  if (!type.hasStaticShape())
    return std::nullopt;
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> rest;
  for (int64_t i = 0, e = shape.size(); i < e; ++i)
    if (i != trace.tokenDim && i != trace.headDim)
      rest.push_back(shape[i]);
  KvGeometry g{1, shape[trace.headDim], shape[trace.tokenDim], 1,
               type.getElementType()};
  if (rest.size() == 1)
    g.kvHeads = rest[0];
  if (rest.size() >= 2) {
    g.batch = rest[0];
    for (int64_t d : ArrayRef<int64_t>(rest).drop_front())
      g.kvHeads *= d;
  }
  return g;
}

} // namespace mlir::kvtier::raise
