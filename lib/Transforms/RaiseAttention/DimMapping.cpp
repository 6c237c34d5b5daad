//===- DimMapping.cpp - dimension mapping through data movement -----------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Maps a dimension of one value to the corresponding dimension of another
// across reshapes, transposes, broadcasts, slices and elementwise ops, so
// that token and head dims can be followed through an exporter's graph.
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

/// One group of a reshape: dims `from` of one shape hold the same elements
/// as dims `to` of the other.
struct ReshapeGroup {
  SmallVector<int64_t> from, to;
};

/// Groups the dims of two static shapes with equal element counts.
std::optional<SmallVector<ReshapeGroup>> groupReshape(ArrayRef<int64_t> a,
                                                      ArrayRef<int64_t> b) {
  if (llvm::any_of(a, [](int64_t d) { return d <= 0; }) ||
      llvm::any_of(b, [](int64_t d) { return d <= 0; }))
    return std::nullopt;
  SmallVector<ReshapeGroup> groups;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    ReshapeGroup group{{static_cast<int64_t>(i)}, {static_cast<int64_t>(j)}};
    int64_t pa = a[i++], pb = b[j++];
    while (pa != pb) {
      if (pa < pb && i < a.size()) {
        pa *= a[i];
        group.from.push_back(i++);
      } else if (pb < pa && j < b.size()) {
        pb *= b[j];
        group.to.push_back(j++);
      } else {
        return std::nullopt;
      }
    }
    groups.push_back(group);
  }
  for (; i < a.size(); ++i)
    if (a[i] != 1 || groups.empty())
      return std::nullopt;
    else
      groups.back().from.push_back(i);
  for (; j < b.size(); ++j)
    if (b[j] != 1 || groups.empty())
      return std::nullopt;
    else
      groups.back().to.push_back(j);
  return groups;
}

/// Maps dim `dim` of shape `a` to `b` through reshape groups: the dim must
/// be the only non-unit dim of its group on both sides.
std::optional<int64_t> mapThroughGroups(ArrayRef<int64_t> a,
                                        ArrayRef<int64_t> b,
                                        ArrayRef<ReshapeGroup> groups,
                                        int64_t dim) {
  for (const ReshapeGroup &group : groups) {
    if (!llvm::is_contained(group.from, dim))
      continue;
    for (int64_t other : group.from)
      if (other != dim && a[other] != 1)
        return std::nullopt;
    std::optional<int64_t> found;
    for (int64_t candidate : group.to) {
      if (b[candidate] == 1)
        continue;
      if (found)
        return std::nullopt;
      found = candidate;
    }
    if (found && b[*found] != a[dim] && !ShapedType::isDynamic(a[dim]) &&
        !ShapedType::isDynamic(b[*found]))
      return std::nullopt;
    return found;
  }
  return std::nullopt;
}

/// Reshape groups from reassociation indices (`collapsed` dim g holds the
/// `expanded` dims of group g).
SmallVector<ReshapeGroup>
groupsFromReassociation(ArrayRef<ReassociationIndices> reassociation,
                        bool fromExpanded) {
  SmallVector<ReshapeGroup> groups;
  for (auto [g, indices] : llvm::enumerate(reassociation)) {
    SmallVector<int64_t> expanded(indices.begin(), indices.end());
    SmallVector<int64_t> collapsed{static_cast<int64_t>(g)};
    groups.push_back(fromExpanded ? ReshapeGroup{expanded, collapsed}
                                  : ReshapeGroup{collapsed, expanded});
  }
  return groups;
}

/// Static shape of a shaped value (dynamic dims stay dynamic).
ArrayRef<int64_t> shapeOf(Value v) {
  return cast<ShapedType>(v.getType()).getShape();
}

/// Maps dim `dim` of `from` to the corresponding dim of `to`, for a
/// reshape-like op between them.
std::optional<int64_t> mapReshape(Operation *op, Value from, Value to,
                                  int64_t dim) {
  bool forward = from == op->getOperand(0);
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return mapThroughGroups(
        shapeOf(from), shapeOf(to),
        groupsFromReassociation(collapse.getReassociationIndices(), forward),
        dim);
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
    return mapThroughGroups(
        shapeOf(from), shapeOf(to),
        groupsFromReassociation(expand.getReassociationIndices(), !forward),
        dim);
  auto fromType = cast<ShapedType>(from.getType());
  auto toType = cast<ShapedType>(to.getType());
  if (!fromType.hasStaticShape() || !toType.hasStaticShape())
    return std::nullopt;
  std::optional<SmallVector<ReshapeGroup>> groups =
      groupReshape(fromType.getShape(), toType.getShape());
  if (!groups)
    return std::nullopt;
  return mapThroughGroups(fromType.getShape(), toType.getShape(), *groups, dim);
}

/// Maps a loop dim between two indexing maps of an all-parallel linalg op.
std::optional<int64_t> mapThroughIndexing(AffineMap fromMap, AffineMap toMap,
                                          int64_t dim) {
  auto expr = dyn_cast<AffineDimExpr>(fromMap.getResult(dim));
  if (!expr)
    return std::nullopt;
  std::optional<unsigned> pos = toMap.getResultPosition(expr);
  if (!pos)
    return std::nullopt;
  return static_cast<int64_t>(*pos);
}

/// True for ops whose result dims correspond one to one to those of every
/// ranked operand of the same rank (casts, tosa elementwise, tiles).
bool isSameIndexOp(Operation *op) {
  return isa<tensor::CastOp, bufferization::ToTensorOp,
             bufferization::ToBufferOp, tosa::TileOp, tosa::AddOp, tosa::SubOp,
             tosa::MulOp, tosa::ExpOp, tosa::CastOp, tosa::SelectOp,
             tosa::MaximumOp, tosa::ReciprocalOp, tosa::TanhOp, arith::AddFOp,
             arith::SubFOp, arith::MulFOp, arith::DivFOp, arith::SelectOp,
             math::ExpOp, math::TanhOp>(op);
}

/// Maps dim `dim` of value `from` (an operand or the result of `op`) to
/// value `to` (the other side). Handles data movement (casts, reshapes,
/// transposes, broadcasts, rank-preserving slices) and elementwise ops.
std::optional<int64_t> mapDim(Operation *op, Value from, Value to,
                              int64_t dim) {
  auto fromType = dyn_cast<ShapedType>(from.getType());
  auto toType = dyn_cast<ShapedType>(to.getType());
  if (!fromType || !toType || !fromType.hasRank() || !toType.hasRank() ||
      dim < 0 || dim >= fromType.getRank())
    return std::nullopt;
  if (isSameIndexOp(op) || isa<tensor::ExtractSliceOp>(op))
    return fromType.getRank() == toType.getRank() ? std::optional<int64_t>(dim)
                                                  : std::nullopt;
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp,
          tensor::ReshapeOp>(op)) {
    // Only the data operand is reshaped (not a shape operand).
    Value data = op->getOperand(0), result = op->getResult(0);
    if (!((from == data && to == result) || (from == result && to == data)))
      return std::nullopt;
    return mapReshape(op, from, to, dim);
  }
  if (auto transpose = dyn_cast<tosa::TransposeOp>(op)) {
    ArrayRef<int32_t> perms = transpose.getPerms();
    if (from == op->getResult(0))
      return dim < static_cast<int64_t>(perms.size())
                 ? std::optional<int64_t>(perms[dim])
                 : std::nullopt;
    auto it = llvm::find(perms, static_cast<int32_t>(dim));
    return it == perms.end() ? std::nullopt
                             : std::optional<int64_t>(it - perms.begin());
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || linalgOp.getNumParallelLoops() != linalgOp.getNumLoops() ||
      linalgOp->getNumResults() != 1)
    return std::nullopt;
  auto mapOf = [&](Value v) -> std::optional<AffineMap> {
    if (v == op->getResult(0))
      return linalgOp.getIndexingMapMatchingResult(cast<OpResult>(v));
    for (OpOperand *input : linalgOp.getDpsInputOperands())
      if (input->get() == v)
        return linalgOp.getMatchingIndexingMap(input);
    return std::nullopt;
  };
  std::optional<AffineMap> fromMap = mapOf(from), toMap = mapOf(to);
  if (!fromMap || !toMap)
    return std::nullopt;
  return mapThroughIndexing(*fromMap, *toMap, dim);
}

/// True when `v` is all zeros: a zero splat constant (arith, tosa) or a
/// linalg.fill with zero.
bool isZeroTensor(Value v) {
  if (matchPattern(v, m_AnyZeroFloat()) || matchPattern(v, m_Zero()))
    return true;
  DenseElementsAttr dense;
  if (matchPattern(v, m_Constant(&dense)) && dense.isSplat()) {
    Attribute splat = dense.getSplatValue<Attribute>();
    if (auto f = dyn_cast<FloatAttr>(splat))
      return f.getValue().isZero();
    if (auto i = dyn_cast<IntegerAttr>(splat))
      return i.getValue().isZero();
  }
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat()) ||
           matchPattern(fill.getInputs()[0], m_Zero());
  return false;
}

Value addZeroOperand(Operation *op) {
  std::optional<Elementwise> ew = classifyElementwise(op);
  if (!ew || ew->kind != EwKind::Add)
    return {};
  Value a = ewOperand(op, *ew, 0), b = ewOperand(op, *ew, 1);
  if (!a || !b || !isa<RankedTensorType>(a.getType()) ||
      !isa<RankedTensorType>(b.getType()))
    return {};
  if (isZeroTensor(b))
    return a;
  if (isZeroTensor(a))
    return b;
  return {};
}

Value dataOperand(Operation *op) {
  if (Value data = addZeroOperand(op))
    return data;
  return op->getNumOperands() ? op->getOperand(0) : Value();
}

/// True for ops that only move data (no arithmetic on elements).
bool isDataMovement(Operation *op) {
  if (isa<tensor::CastOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp,
          tensor::ReshapeOp, tosa::ReshapeOp, tosa::TransposeOp, tosa::TileOp,
          linalg::TransposeOp, linalg::BroadcastOp, linalg::CopyOp,
          tensor::ExtractSliceOp>(op))
    return true;
  // x + zeros of a larger shape: a broadcast written as an add (GQA head
  // expansion by some exporters).
  if (addZeroOperand(op))
    return true;
  std::optional<Elementwise> ew;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    ew = classifyGeneric(generic);
  return ew && ew->kind == EwKind::Copy && op->getNumOperands() == 2;
}

} // namespace mlir::kvtier::raise
