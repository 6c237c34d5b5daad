//===- AttentionPatterns.cpp - recognise attention in upstream IR ---------===//
//
// Part of kv-opt. The matchers walk use-def chains outward from a softmax
// (or from a fused online-softmax loop) rather than matching fixed op
// sequences: scores are traced up through elementwise and data-movement ops
// to the Q*K^T contraction, probabilities are traced down to the *V
// contraction, and K and V are traced up through transposes, reshapes and
// GQA broadcasts to the cache they are read from, carrying the token and
// head dimensions along so that the cache geometry comes from the shapes.
//
//===----------------------------------------------------------------------===//

#include "kvopt/Transforms/AttentionPatterns.h"
#include "kvopt/Dialect/KvTier/IR/KvTierDialect.h"
#include "kvopt/Dialect/KvTier/IR/KvTierOps.h"
#include "kvopt/Dialect/KvTier/IR/KvTierTypes.h"

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
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

#include <optional>

using namespace mlir;
using namespace mlir::kvtier;

namespace {

/// Bound on use-def search depth, so that adversarial graphs stay cheap.
constexpr int kMaxDepth = 24;

//===----------------------------------------------------------------------===//
// Elementwise and reduction classification
//===----------------------------------------------------------------------===//

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
  Other
};

/// A tensor op that applies one scalar function elementwise. `args[i]` is
/// the operand number of the i-th scalar argument, or -1 for a constant or
/// captured scalar.
struct Elementwise {
  EwKind kind = EwKind::Other;
  SmallVector<int> args;
};

/// Looks through scalar casts inside a linalg body.
Value stripScalarCasts(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::TruncFOp, arith::ExtFOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Kind of a scalar arith/math op (Div by the constant 1 is a reciprocal).
EwKind scalarKind(Operation *op) {
  if (isa<math::ExpOp>(op))
    return EwKind::Exp;
  if (isa<math::LogOp>(op))
    return EwKind::Log;
  if (isa<arith::AddFOp>(op))
    return EwKind::Add;
  if (isa<arith::SubFOp>(op))
    return EwKind::Sub;
  if (isa<arith::MulFOp>(op))
    return EwKind::Mul;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
    return EwKind::Max;
  if (auto div = dyn_cast<arith::DivFOp>(op)) {
    APFloat one(0.0);
    if (matchPattern(div.getLhs(), m_ConstantFloat(&one)) &&
        one.isExactlyValue(1.0))
      return EwKind::Reciprocal;
    return EwKind::Div;
  }
  return EwKind::Other;
}

/// Classifies a linalg.generic whose body applies one scalar op.
std::optional<Elementwise> classifyGeneric(linalg::GenericOp generic) {
  if (generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return std::nullopt;
  Block &body = generic.getRegion().front();
  Value yielded = body.getTerminator()->getOperand(0);
  auto argIndex = [&](Value v) -> int {
    auto arg = dyn_cast<BlockArgument>(stripScalarCasts(v));
    if (!arg || arg.getOwner() != &body ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return -1;
    return static_cast<int>(arg.getArgNumber());
  };
  if (int idx = argIndex(yielded); idx >= 0)
    return Elementwise{EwKind::Copy, {idx}};
  Operation *core = stripScalarCasts(yielded).getDefiningOp();
  if (!core || core->getBlock() != &body)
    return std::nullopt;
  Elementwise ew{scalarKind(core), {}};
  if (ew.kind == EwKind::Other)
    return std::nullopt;
  for (Value operand : core->getOperands())
    ew.args.push_back(argIndex(operand));
  if (ew.kind == EwKind::Reciprocal)
    ew.args.erase(ew.args.begin());
  return ew;
}

/// Classifies tosa, linalg named and arith/math ops on ranked tensors.
std::optional<Elementwise> classifyElementwise(Operation *op) {
  if (!op || op->getNumResults() != 1 ||
      !isa<RankedTensorType>(op->getResult(0).getType()))
    return std::nullopt;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return classifyGeneric(generic);
  auto binary = [](EwKind kind) { return Elementwise{kind, {0, 1}}; };
  auto unary = [](EwKind kind) { return Elementwise{kind, {0}}; };
  if (isa<tosa::ExpOp, linalg::ExpOp, math::ExpOp>(op))
    return unary(EwKind::Exp);
  if (isa<tosa::LogOp, linalg::LogOp, math::LogOp>(op))
    return unary(EwKind::Log);
  if (isa<tosa::ReciprocalOp, linalg::ReciprocalOp>(op))
    return unary(EwKind::Reciprocal);
  if (isa<tosa::AddOp, linalg::AddOp, arith::AddFOp>(op))
    return binary(EwKind::Add);
  if (isa<tosa::SubOp, linalg::SubOp, arith::SubFOp>(op))
    return binary(EwKind::Sub);
  if (isa<tosa::MulOp, linalg::MulOp, arith::MulFOp>(op))
    return binary(EwKind::Mul);
  if (isa<linalg::DivOp, arith::DivFOp>(op))
    return binary(EwKind::Div);
  if (isa<tosa::MaximumOp, linalg::MaxOp, arith::MaximumFOp>(op))
    return binary(EwKind::Max);
  if (isa<tosa::CastOp, linalg::CopyOp>(op))
    return unary(EwKind::Copy);
  return std::nullopt;
}

/// The tensor operand feeding scalar argument `i` of an elementwise op.
Value ewOperand(Operation *op, const Elementwise &ew, unsigned i) {
  if (i >= ew.args.size() || ew.args[i] < 0)
    return {};
  return op->getOperand(ew.args[i]);
}

enum class ReductionKind { Sum, Max };

/// A reduction of `input` over its dimension `dim`.
struct Reduction {
  ReductionKind kind;
  Value input;
  int64_t dim;
};

/// Kind of the combiner `combined = f(in, out)` of a reduction body.
std::optional<ReductionKind> combinerKind(Value combined, Value in, Value out) {
  Operation *op = combined.getDefiningOp();
  if (!op)
    return std::nullopt;
  auto usesBoth = [&](Value a, Value b) {
    return (a == in && b == out) || (a == out && b == in);
  };
  if (isa<arith::AddFOp>(op) && usesBoth(op->getOperand(0), op->getOperand(1)))
    return ReductionKind::Sum;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op) &&
      usesBoth(op->getOperand(0), op->getOperand(1)))
    return ReductionKind::Max;
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
    if (cmp && usesBoth(select.getTrueValue(), select.getFalseValue()) &&
        usesBoth(cmp.getLhs(), cmp.getRhs()))
      return ReductionKind::Max;
  }
  return std::nullopt;
}

/// Matches a linalg.generic with one reduction loop.
std::optional<Reduction> matchGenericReduction(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumReductionLoops() != 1)
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
  unsigned loop =
      llvm::find(iterators, utils::IteratorType::reduction) - iterators.begin();
  Block &body = generic.getRegion().front();
  Value combined = body.getTerminator()->getOperand(0);
  std::optional<ReductionKind> kind =
      combinerKind(combined, body.getArgument(0),
                   body.getArgument(generic.getNumDpsInputs()));
  if (!kind)
    return std::nullopt;
  AffineMap map = generic.getMatchingIndexingMap(generic.getDpsInputOperand(0));
  std::optional<unsigned> pos =
      map.getResultPosition(getAffineDimExpr(loop, generic.getContext()));
  if (!pos)
    return std::nullopt;
  return Reduction{*kind, generic.getDpsInputs()[0], *pos};
}

/// Matches linalg.generic/linalg.reduce/tosa reductions of one dimension.
std::optional<Reduction> matchReduction(Operation *op) {
  if (!op || op->getNumResults() == 0 ||
      !isa<RankedTensorType>(op->getResult(0).getType()))
    return std::nullopt;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return matchGenericReduction(generic);
  if (auto sum = dyn_cast<tosa::ReduceSumOp>(op))
    return Reduction{ReductionKind::Sum, sum.getInput(), sum.getAxis()};
  if (auto max = dyn_cast<tosa::ReduceMaxOp>(op))
    return Reduction{ReductionKind::Max, max.getInput(), max.getAxis()};
  if (auto reduce = dyn_cast<linalg::ReduceOp>(op)) {
    if (reduce.getDimensions().size() != 1 || reduce.getNumDpsInputs() != 1)
      return std::nullopt;
    Block &body = reduce.getCombiner().front();
    std::optional<ReductionKind> kind =
        combinerKind(body.getTerminator()->getOperand(0), body.getArgument(0),
                     body.getArgument(1));
    if (!kind)
      return std::nullopt;
    return Reduction{*kind, reduce.getInputs()[0], reduce.getDimensions()[0]};
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Dimension mapping through data movement and elementwise ops
//===----------------------------------------------------------------------===//

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

/// True for ops that only move data (no arithmetic on elements).
bool isDataMovement(Operation *op) {
  if (isa<tensor::CastOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp,
          tensor::ReshapeOp, tosa::ReshapeOp, tosa::TransposeOp, tosa::TileOp,
          linalg::TransposeOp, linalg::BroadcastOp, linalg::CopyOp,
          tensor::ExtractSliceOp>(op))
    return true;
  std::optional<Elementwise> ew;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    ew = classifyGeneric(generic);
  return ew && ew->kind == EwKind::Copy && op->getNumOperands() == 2;
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

/// A softmax of `scores` over `dim`, producing `probs`.
struct SoftmaxInfo {
  SoftmaxForm form;
  Value scores, probs;
  int64_t dim;
  SmallVector<Operation *> ops;
};

/// Looks through broadcasts and unit-dim reshapes of a (reduced) value.
Value stripBroadcast(Value v) {
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def || def->getNumOperands() == 0 || !isDataMovement(def) ||
        isa<tosa::TransposeOp, linalg::TransposeOp>(def))
      return v;
    v = def->getOperand(0);
  }
  return v;
}

/// The max reduction `m` when `v = x - broadcast(max(x))`.
std::optional<std::pair<Value, Operation *>> matchSubMax(Value v) {
  Operation *sub = v.getDefiningOp();
  std::optional<Elementwise> ew = classifyElementwise(sub);
  if (!ew || ew->kind != EwKind::Sub)
    return std::nullopt;
  Value x = ewOperand(sub, *ew, 0), m = ewOperand(sub, *ew, 1);
  if (!x || !m)
    return std::nullopt;
  Operation *maxOp = stripBroadcast(m).getDefiningOp();
  std::optional<Reduction> max = matchReduction(maxOp);
  if (!max || max->kind != ReductionKind::Max || max->input != x)
    return std::nullopt;
  return std::make_pair(x, maxOp);
}

/// Finds the normaliser of `e` by the sum `sum`: e / bcast(sum) or
/// e * bcast(1 / sum), returning its op and the reciprocal op (if any).
std::optional<std::pair<Operation *, Operation *>> findNormaliser(Value e,
                                                                  Value sum) {
  for (Operation *user : e.getUsers()) {
    std::optional<Elementwise> ew = classifyElementwise(user);
    if (!ew || ewOperand(user, *ew, 0) != e)
      continue;
    Value other = ewOperand(user, *ew, 1);
    if (!other)
      continue;
    if (ew->kind == EwKind::Div && stripBroadcast(other) == sum)
      return std::make_pair(user, nullptr);
    Operation *recip = stripBroadcast(other).getDefiningOp();
    std::optional<Elementwise> rew = classifyElementwise(recip);
    if (ew->kind == EwKind::Mul && rew && rew->kind == EwKind::Reciprocal &&
        stripBroadcast(ewOperand(recip, *rew, 0)) == sum)
      return std::make_pair(user, recip);
  }
  return std::nullopt;
}

/// exp/sum/div form rooted at the exp op `exp` with input `y`.
std::optional<SoftmaxInfo> matchExpSumDiv(Operation *exp, Value y) {
  Value e = exp->getResult(0);
  for (Operation *user : e.getUsers()) {
    std::optional<Reduction> sum = matchReduction(user);
    if (!sum || sum->kind != ReductionKind::Sum || sum->input != e)
      continue;
    auto norm = findNormaliser(e, user->getResult(0));
    if (!norm)
      continue;
    SoftmaxInfo info{SoftmaxForm::ExpSumDiv,
                     y,
                     norm->first->getResult(0),
                     sum->dim,
                     {exp, user, norm->first}};
    if (norm->second)
      info.ops.push_back(norm->second);
    if (auto subMax = matchSubMax(y)) {
      info.scores = subMax->first;
      info.ops.append({y.getDefiningOp(), subMax->second});
    }
    return info;
  }
  return std::nullopt;
}

/// Searches the producers of the log-sum-exp term `lse` for a log and a sum
/// reduction of exp(x - ...) or exp(x); returns the sum reduction.
std::optional<std::pair<Reduction, SmallVector<Operation *>>>
matchLogSumExpTerm(Value lse, Value x) {
  SmallVector<Value> worklist{stripBroadcast(lse)};
  SmallVector<Operation *> ops;
  bool sawLog = false;
  std::optional<Reduction> sum;
  for (int steps = 0; !worklist.empty() && steps < kMaxDepth; ++steps) {
    Operation *def = stripBroadcast(worklist.pop_back_val()).getDefiningOp();
    if (!def)
      continue;
    if (std::optional<Reduction> red = matchReduction(def)) {
      Operation *expOp = red->input.getDefiningOp();
      std::optional<Elementwise> ew = classifyElementwise(expOp);
      if (red->kind == ReductionKind::Sum && ew && ew->kind == EwKind::Exp) {
        Value arg = ewOperand(expOp, *ew, 0);
        auto subMax = matchSubMax(arg);
        if (arg == x || (subMax && subMax->first == x)) {
          sum = red;
          ops.append({def, expOp});
        }
      }
      continue;
    }
    std::optional<Elementwise> ew = classifyElementwise(def);
    if (!ew || (ew->kind != EwKind::Add && ew->kind != EwKind::Log))
      continue;
    sawLog |= ew->kind == EwKind::Log;
    ops.push_back(def);
    for (unsigned i = 0; i < ew->args.size(); ++i)
      if (Value operand = ewOperand(def, *ew, i))
        worklist.push_back(operand);
  }
  if (!sawLog || !sum)
    return std::nullopt;
  return std::make_pair(*sum, ops);
}

/// Recognises a softmax rooted at `root` (see matchAttention).
std::optional<SoftmaxInfo> matchSoftmax(Operation *root) {
  if (auto softmax = dyn_cast<linalg::SoftmaxOp>(root))
    return SoftmaxInfo{SoftmaxForm::LinalgSoftmax,
                       softmax.getInput(),
                       softmax.getResult()[0],
                       static_cast<int64_t>(softmax.getDimension()),
                       {root}};
  std::optional<Elementwise> ew = classifyElementwise(root);
  if (!ew || ew->kind != EwKind::Exp)
    return std::nullopt;
  Value y = ewOperand(root, *ew, 0);
  if (!y)
    return std::nullopt;
  if (auto info = matchExpSumDiv(root, y))
    return info;
  Operation *sub = y.getDefiningOp();
  std::optional<Elementwise> subEw = classifyElementwise(sub);
  if (!subEw || subEw->kind != EwKind::Sub)
    return std::nullopt;
  Value x = ewOperand(sub, *subEw, 0), lse = ewOperand(sub, *subEw, 1);
  if (!x || !lse)
    return std::nullopt;
  auto term = matchLogSumExpTerm(lse, x);
  if (!term)
    return std::nullopt;
  SoftmaxInfo info{SoftmaxForm::LogSumExp,
                   x,
                   root->getResult(0),
                   term->first.dim,
                   {root, sub}};
  info.ops.append(term->second);
  return info;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// A two-operand contraction with one contracted loop, as indexing maps.
struct Contraction {
  Operation *op;
  Value operands[2];
  AffineMap maps[2];
  AffineMap outMap;
  unsigned kLoop;
};

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

/// The K (or V) side of a contraction: its operand, its token dim and its
/// head dim; `other` is the remaining operand (Q or P).
struct ContractionSide {
  Value operand;
  int64_t tokenDim, headDim;
  Value other;
};

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
              DenseSet<std::pair<Value, int64_t>> &seen, int depth = 0) {
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
               int depth = 0) {
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
  if (auto tile = dyn_cast<tosa::TileOp>(op)) {
    auto in = cast<ShapedType>(tile.getInput1().getType());
    auto out = cast<ShapedType>(tile.getType());
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
    Value operand = def->getOperand(0);
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

//===----------------------------------------------------------------------===//
// Scatters of the new token and the position
//===----------------------------------------------------------------------===//

/// Position from a scatter index value (loop-invariant, or read per element
/// from a buffer that a tensor was copied into).
PositionSource positionFromIndex(Value index, Operation *scatter) {
  PositionSource pos{PositionSource::Kind::Value, index, 0, scatter};
  Operation *def = index.getDefiningOp();
  if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(def))
    def = def->getOperand(0).getDefiningOp();
  if (auto load = dyn_cast_or_null<memref::LoadOp>(def))
    if (auto toBuffer =
            load.getMemRef().getDefiningOp<bufferization::ToBufferOp>())
      return {PositionSource::Kind::TensorElement, toBuffer.getTensor(), 0,
              scatter};
  return pos;
}

/// True when `v` is the induction variable of a loop enclosing `op`.
bool isEnclosingLoopIv(Value v, Operation *op) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return false;
  auto loop = dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
  return loop && loop->isAncestor(op) &&
         llvm::is_contained(
             loop.getLoopInductionVars().value_or(SmallVector<Value>{}), v);
}

/// Finds a memref.store/copy writing one token into `buffer` at `tokenDim`.
PositionSource findMemrefScatter(Value buffer, int64_t tokenDim) {
  for (Operation *user : buffer.getUsers()) {
    if (auto store = dyn_cast<memref::StoreOp>(user)) {
      if (store.getMemRef() != buffer ||
          tokenDim >= static_cast<int64_t>(store.getIndices().size()))
        continue;
      Value index = store.getIndices()[tokenDim];
      if (!isEnclosingLoopIv(index, store))
        return positionFromIndex(index, store);
    }
    if (auto subview = dyn_cast<memref::SubViewOp>(user)) {
      auto copies =
          llvm::make_filter_range(subview->getUsers(), [&](Operation *u) {
            auto copy = dyn_cast<memref::CopyOp>(u);
            return copy && copy.getTarget() == subview.getResult();
          });
      if (copies.empty() ||
          static_cast<int64_t>(subview.getMixedOffsets().size()) <= tokenDim)
        continue;
      OpFoldResult offset = subview.getMixedOffsets()[tokenDim];
      if (auto value = dyn_cast<Value>(offset))
        return positionFromIndex(value, *copies.begin());
      return {PositionSource::Kind::StaticOffset,
              {},
              cast<IntegerAttr>(cast<Attribute>(offset)).getInt(),
              *copies.begin()};
    }
  }
  return {};
}

/// Position of a linalg.generic that writes `new` where
/// `linalg.index tokenDim == pos` and keeps the cache elsewhere.
PositionSource positionOfSelectScatter(linalg::GenericOp generic,
                                       int64_t tokenDim) {
  PositionSource none;
  if (generic.getNumDpsInputs() != 2 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return none;
  generic.getRegion().walk([&](arith::CmpIOp cmp) {
    if (cmp.getPredicate() != arith::CmpIPredicate::eq)
      return WalkResult::advance();
    for (auto [a, b] : {std::pair(cmp.getLhs(), cmp.getRhs()),
                        std::pair(cmp.getRhs(), cmp.getLhs())}) {
      auto index = a.getDefiningOp<linalg::IndexOp>();
      if (!index || static_cast<int64_t>(index.getDim()) != tokenDim)
        continue;
      Operation *def = b.getDefiningOp();
      if (def && generic->isProperAncestor(def) &&
          !matchPattern(b, m_Constant()))
        continue;
      none = positionFromIndex(b, generic);
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return none;
}

/// Position of a `tensor.insert_slice` of the new token: its offset in the
/// token dim.
PositionSource positionOfInsert(tensor::InsertSliceOp insert,
                                int64_t tokenDim) {
  OpFoldResult offset = insert.getMixedOffsets()[tokenDim];
  if (auto value = dyn_cast<Value>(offset))
    return positionFromIndex(value, insert);
  return {PositionSource::Kind::StaticOffset,
          {},
          cast<IntegerAttr>(cast<Attribute>(offset)).getInt(),
          insert};
}

/// The old cache a select-scatter generic updates: its input shaped like
/// its result (null when there is none).
Value oldCacheOf(linalg::GenericOp generic) {
  if (generic->getNumResults() != 1)
    return {};
  Type type = generic->getResult(0).getType();
  for (Value input : generic.getDpsInputs())
    if (input.getType() == type)
      return input;
  return {};
}

/// The root buffer or tensor a cache value comes from (through to_tensor,
/// to_buffer, inserts and select scatters), collecting the scatter found.
std::pair<Value, PositionSource> findCacheRoot(Value v, int64_t tokenDim) {
  PositionSource pos;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (auto toTensor = v.getDefiningOp<bufferization::ToTensorOp>()) {
      v = toTensor.getBuffer();
      continue;
    }
    if (isa<BaseMemRefType>(v.getType()) &&
        pos.kind == PositionSource::Kind::None)
      pos = findMemrefScatter(v, tokenDim);
    if (auto toBuffer = v.getDefiningOp<bufferization::ToBufferOp>()) {
      v = toBuffer.getTensor();
      continue;
    }
    if (auto insert = v.getDefiningOp<tensor::InsertSliceOp>()) {
      if (pos.kind == PositionSource::Kind::None)
        pos = positionOfInsert(insert, tokenDim);
      v = insert.getDest();
      continue;
    }
    // A cache carried through a loop (over layers or steps): its init.
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      auto loop = dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
      OpOperand *init = loop ? loop.getTiedLoopInit(arg) : nullptr;
      if (!init)
        break;
      v = init->get();
      continue;
    }
    if (auto generic = v.getDefiningOp<linalg::GenericOp>()) {
      PositionSource scatter = positionOfSelectScatter(generic, tokenDim);
      Value old = oldCacheOf(generic);
      if (scatter.kind != PositionSource::Kind::None && old) {
        if (pos.kind == PositionSource::Kind::None)
          pos = scatter;
        v = old;
        continue;
      }
    }
    break;
  }
  return {v, pos};
}

/// True when `root` is a function argument (a cache handed to the step).
bool isFunctionArgument(Value root) {
  auto arg = dyn_cast<BlockArgument>(root);
  return arg && arg.getOwner()->isEntryBlock() &&
         isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
}

/// Fills the cache part of a match (sources, geometry, persistence,
/// position) from the K and V traces; sets `nearMiss` on inconsistency.
LogicalResult fillCache(AttentionMatch &match, const KvTrace &key,
                        const KvTrace &value, std::string &nearMiss) {
  // Constant keys or values are weights (e.g. a router matrix), not a
  // sequence being attended to.
  if (matchPattern(key.source, m_Constant()) ||
      matchPattern(value.source, m_Constant())) {
    nearMiss = "the keys or values are constants, not a token sequence";
    return failure();
  }
  std::optional<KvGeometry> kg = geometryOf(key), vg = geometryOf(value);
  if (!kg || !vg) {
    nearMiss = "the keys or values have a dynamic shape";
    return failure();
  }
  if (kg->tokens != vg->tokens || kg->kvHeads != vg->kvHeads ||
      kg->headDim != vg->headDim || kg->batch != vg->batch ||
      kg->element != vg->element) {
    nearMiss = "keys and values disagree on tokens, heads, head dim, batch "
               "or element type";
    return failure();
  }
  match.geometry = *kg;
  match.keySource = key.source;
  match.valueSource = value.source;
  auto [keyRoot, keyPos] = findCacheRoot(key.source, key.tokenDim);
  auto [valueRoot, valuePos] = findCacheRoot(value.source, value.tokenDim);
  match.position =
      keyPos.kind != PositionSource::Kind::None ? keyPos : valuePos;
  // Without a scatter, a `[0, n)` read of the cache gives the position n.
  if (match.position.kind == PositionSource::Kind::None && key.readLength)
    match.position = {PositionSource::Kind::Value, key.readLength, 0, nullptr};
  match.persistentCache =
      match.position.kind != PositionSource::Kind::None ||
      (isFunctionArgument(keyRoot) && isFunctionArgument(valueRoot));
  for (const PositionSource &p : {keyPos, valuePos})
    if (p.scatter)
      match.ops.push_back(p.scatter);
  match.ops.append(key.ops.begin(), key.ops.end());
  match.ops.append(value.ops.begin(), value.ops.end());
  return success();
}

/// Query heads from the query operand: all of its elements divided by the
/// head dim, the query tokens and the batch.
int64_t queryHeadsOf(Value query, int64_t headDim, int64_t batch,
                     int64_t queryTokens) {
  auto type = dyn_cast<ShapedType>(query.getType());
  if (!type || !type.hasStaticShape() || headDim <= 0 || batch <= 0 ||
      queryTokens <= 0)
    return 0;
  return type.getNumElements() / headDim / batch / queryTokens;
}

//===----------------------------------------------------------------------===//
// Tensor-form attention
//===----------------------------------------------------------------------===//

/// Query tokens of a Q*K^T contraction: the product of the output dims that
/// come from Q alone (not the key-token dim `keyDim`, not a dim shared with
/// K); 0 when one of them is dynamic.
int64_t queryTokensOf(const Contraction &c, int64_t keyDim, Value keyOperand) {
  int keySide = c.operands[0] == keyOperand ? 0 : 1;
  ArrayRef<int64_t> shape = shapeOf(c.op->getResult(0));
  int64_t tokens = 1;
  for (auto [i, expr] : llvm::enumerate(c.outMap.getResults())) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (!d || static_cast<int64_t>(i) == keyDim ||
        loopPosition(c.maps[keySide], d.getPosition()))
      continue;
    if (ShapedType::isDynamic(shape[i]))
      return 0;
    tokens *= shape[i];
  }
  return tokens;
}

/// Attention around a tensor softmax: Q*K^T -> softmax -> *V.
FailureOr<AttentionMatch> matchTensorAttention(const SoftmaxInfo &softmax,
                                               std::string &nearMiss) {
  AttentionMatch match;
  match.form = softmax.form;
  match.ops.append(softmax.ops.begin(), softmax.ops.end());
  DenseSet<std::pair<Value, int64_t>> seen;
  auto qk = traceScoresUp(softmax.scores, softmax.dim, match.ops, seen);
  if (!qk) {
    nearMiss = "its scores are not produced by a Q*K^T contraction "
               "(matmul/batch_matmul/contraction generic/tosa.matmul) with "
               "the softmax dimension as a free dimension";
    return failure();
  }
  std::optional<ContractionSide> key = keySide(qk->first, qk->second);
  if (!key) {
    nearMiss = "the softmax dimension is not a key-token dimension of the "
               "Q*K^T contraction";
    return failure();
  }
  auto pv = traceProbsDown(softmax.probs, softmax.dim, match.ops);
  if (!pv) {
    nearMiss = "its probabilities do not reach a *V contraction over the "
               "softmax dimension";
    return failure();
  }
  match.ops.append({qk->first.op, pv->first.op});
  match.anchor = pv->first.op;
  KvTrace keyTrace = traceKvUp(key->operand, key->tokenDim, key->headDim);
  KvTrace valueTrace =
      traceKvUp(pv->second.operand, pv->second.tokenDim, pv->second.headDim);
  if (failed(fillCache(match, keyTrace, valueTrace, nearMiss)))
    return failure();
  match.queryHeads =
      queryHeadsOf(key->other, match.geometry.headDim, match.geometry.batch,
                   queryTokensOf(qk->first, qk->second, key->operand));
  return match;
}

//===----------------------------------------------------------------------===//
// Fused online-softmax loops
//===----------------------------------------------------------------------===//

/// A memory read inside a loop: its buffer and index operands.
struct Read {
  Operation *op;
  Value buffer;
  SmallVector<Value> indices;
};

/// Recognises memref/affine/vector loads and transfer reads with plain
/// indices.
std::optional<Read> asRead(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return Read{op, load.getMemRef(), llvm::to_vector(load.getIndices())};
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return Read{op, load.getBase(), llvm::to_vector(load.getIndices())};
  if (auto read = dyn_cast<vector::TransferReadOp>(op))
    if (isa<BaseMemRefType>(read.getBase().getType()))
      return Read{op, read.getBase(), llvm::to_vector(read.getIndices())};
  if (auto load = dyn_cast<affine::AffineLoadOp>(op))
    if (load.getAffineMap().isIdentity())
      return Read{op, load.getMemRef(), llvm::to_vector(load.getMapOperands())};
  if (auto load = dyn_cast<affine::AffineVectorLoadOp>(op))
    if (load.getAffineMap().isIdentity())
      return Read{op, load.getMemRef(), llvm::to_vector(load.getMapOperands())};
  return std::nullopt;
}

/// Ops inside `scope` that `v` depends on (including through the regions
/// of nested ops such as inner loops).
llvm::SetVector<Operation *> backwardSlice(Value v, Operation *scope) {
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> worklist{v};
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !scope->isProperAncestor(def) || !slice.insert(def))
      continue;
    def->walk([&](Operation *nested) {
      slice.insert(nested);
      llvm::append_range(worklist, nested->getOperands());
    });
  }
  return slice;
}

/// True when `v` is the induction variable of a loop nested in `loop`.
bool isNestedIv(Value v, Operation *loop) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return false;
  Operation *owner = arg.getOwner()->getParentOp();
  auto nested = dyn_cast<LoopLikeOpInterface>(owner);
  if (!nested || !loop->isProperAncestor(owner))
    return false;
  std::optional<SmallVector<Value>> ivs = nested.getLoopInductionVars();
  return ivs && llvm::is_contained(*ivs, v);
}

/// Finds, in `ops`, a read indexed by `iv` (if given) and by the iv of a
/// loop nested in `loop`, skipping `exclude`; returns its dims.
std::optional<std::tuple<Read, int64_t, int64_t>>
findIndexedRead(ArrayRef<Operation *> ops, Operation *loop, Value iv,
                Value exclude) {
  for (Operation *op : ops) {
    std::optional<Read> read = asRead(op);
    if (!read || read->buffer == exclude)
      continue;
    int64_t tok = -1, head = -1;
    for (auto [i, index] : llvm::enumerate(read->indices)) {
      if (iv && index == iv)
        tok = i;
      else if (isNestedIv(index, loop))
        head = i;
    }
    if (head >= 0 && (iv ? tok >= 0 : tok < 0))
      return std::make_tuple(*read, tok, head);
  }
  return std::nullopt;
}

/// Index of the loop-carried value updated as a running maximum, and the
/// score it is compared with.
std::optional<std::pair<unsigned, Value>>
findRunningMax(ArrayRef<BlockArgument> carried, ArrayRef<Value> yielded) {
  if (carried.size() != yielded.size())
    return std::nullopt;
  for (auto [i, y] : llvm::enumerate(yielded)) {
    Operation *def = y.getDefiningOp();
    Value arg = carried[i];
    if (isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(def)) {
      if (def->getOperand(0) == arg)
        return std::make_pair(unsigned(i), def->getOperand(1));
      if (def->getOperand(1) == arg)
        return std::make_pair(unsigned(i), def->getOperand(0));
    }
    auto select = dyn_cast_or_null<arith::SelectOp>(def);
    auto cmp = select ? select.getCondition().getDefiningOp<arith::CmpFOp>()
                      : arith::CmpFOp();
    if (!cmp)
      continue;
    Value t = select.getTrueValue(), f = select.getFalseValue();
    if ((t == arg) != (f == arg) && ((cmp.getLhs() == t && cmp.getRhs() == f) ||
                                     (cmp.getLhs() == f && cmp.getRhs() == t)))
      return std::make_pair(unsigned(i), t == arg ? f : t);
  }
  return std::nullopt;
}

/// True when `loop` is a candidate: loop-carried values and an exp in its
/// own body.
bool isOnlineSoftmaxCandidate(LoopLikeOpInterface loop) {
  if (loop.getRegionIterArgs().size() < 2 || !loop.getSingleInductionVar())
    return false;
  for (Region *region : loop.getLoopRegions())
    for (Operation &op : region->getOps())
      if (isa<math::ExpOp>(op))
        return true;
  return false;
}

/// Climbs out of the loops whose induction variables index the query, keys
/// or values (batch and head loops), so that the annotation is per step.
Operation *climbIndexLoops(Operation *loop, ArrayRef<Read> reads) {
  Operation *anchor = loop;
  while (auto parent =
             dyn_cast_or_null<LoopLikeOpInterface>(anchor->getParentOp())) {
    std::optional<Value> iv = parent.getSingleInductionVar();
    if (!iv)
      break;
    bool used = llvm::any_of(reads, [&](const Read &read) {
      return llvm::any_of(read.indices, [&](Value index) {
        if (index == *iv)
          return true;
        Operation *def = index.getDefiningOp();
        return def && llvm::is_contained(def->getOperands(), *iv);
      });
    });
    if (!used)
      break;
    anchor = parent;
  }
  return anchor;
}

/// Checks the online-softmax recurrence of `loopOp`: a running maximum, a
/// running sum of exponentials, and an exp of the difference to the carried
/// maximum (the rescale). Returns the score compared with the maximum, or
/// fails with the reason in `why`.
FailureOr<Value> matchOnlineRecurrence(Operation *loopOp,
                                       ArrayRef<BlockArgument> carried,
                                       ArrayRef<Value> yielded,
                                       std::string &why) {
  auto max = findRunningMax(carried, yielded);
  if (!max) {
    why = "no loop-carried running maximum (max or cmpf+select)";
    return failure();
  }
  auto isExp = [](Operation *op) { return isa<math::ExpOp>(op); };
  bool hasSum = false;
  for (auto [i, y] : llvm::enumerate(yielded)) {
    if (i == max->first)
      continue;
    llvm::SetVector<Operation *> slice = backwardSlice(y, loopOp);
    bool selfDependent = llvm::any_of(slice, [&](Operation *op) {
      return llvm::is_contained(op->getOperands(), carried[i]);
    });
    hasSum |= selfDependent && llvm::any_of(slice, isExp);
  }
  if (!hasSum) {
    why = "no loop-carried running sum of exponentials";
    return failure();
  }
  bool rescaled = false;
  loopOp->walk([&](math::ExpOp exp) {
    Operation *def = exp.getOperand().getDefiningOp();
    rescaled |= def && llvm::is_contained(def->getOperands(),
                                          Value(carried[max->first]));
  });
  if (!rescaled) {
    why = "no exp of the difference to the running maximum (rescale)";
    return failure();
  }
  return max->second;
}

/// Recognises a fused online-softmax loop over the cached tokens.
FailureOr<AttentionMatch> matchOnlineLoop(LoopLikeOpInterface loop,
                                          std::string &nearMiss) {
  Operation *loopOp = loop;
  Value iv = *loop.getSingleInductionVar();
  SmallVector<BlockArgument> carried =
      llvm::to_vector(loop.getRegionIterArgs());
  SmallVector<Value> yielded = llvm::to_vector(loop.getYieldedValues());
  auto fail = [&](StringRef what) {
    nearMiss = ("a loop with loop-carried values and an exp is not a fused "
                "online-softmax attention: " +
                what)
                   .str();
    return failure();
  };
  std::string why;
  FailureOr<Value> score = matchOnlineRecurrence(loopOp, carried, yielded, why);
  if (failed(score))
    return fail(why);
  SmallVector<Operation *> scoreOps =
      backwardSlice(*score, loopOp).takeVector();
  auto keyRead = findIndexedRead(scoreOps, loopOp, iv, Value());
  if (!keyRead)
    return fail("the score does not read keys indexed by the loop induction "
                "variable and an inner head-dimension loop");
  Value keys = std::get<0>(*keyRead).buffer;
  auto queryRead = findIndexedRead(scoreOps, loopOp, Value(), keys);
  SmallVector<Operation *> bodyOps;
  loopOp->walk([&](Operation *op) {
    if (op != loopOp && !llvm::is_contained(scoreOps, op))
      bodyOps.push_back(op);
  });
  auto valueRead = findIndexedRead(bodyOps, loopOp, iv, keys);
  if (!valueRead)
    return fail("no accumulator of values indexed by the loop induction "
                "variable and an inner head-dimension loop");
  AttentionMatch match;
  match.form = SoftmaxForm::OnlineLoop;
  match.ops.push_back(loopOp);
  KvTrace keyTrace{keys, std::get<1>(*keyRead), std::get<2>(*keyRead), 1, {}};
  KvTrace valueTrace{std::get<0>(*valueRead).buffer,
                     std::get<1>(*valueRead),
                     std::get<2>(*valueRead),
                     1,
                     {}};
  if (failed(fillCache(match, keyTrace, valueTrace, nearMiss)))
    return failure();
  SmallVector<Read> reads{std::get<0>(*keyRead), std::get<0>(*valueRead)};
  if (queryRead) {
    reads.push_back(std::get<0>(*queryRead));
    match.queryHeads =
        queryHeadsOf(std::get<0>(*queryRead).buffer, match.geometry.headDim,
                     match.geometry.batch, 1);
  }
  match.anchor = climbIndexLoops(loopOp, reads);
  // Without a scatter, a loop over [0, n) cached tokens gives position n.
  std::optional<OpFoldResult> lower = loop.getSingleLowerBound();
  std::optional<OpFoldResult> upper = loop.getSingleUpperBound();
  if (match.position.kind == PositionSource::Kind::None && lower && upper &&
      isConstantIntValue(*lower, 0) && !getConstantIntValue(*upper))
    match.position = {PositionSource::Kind::Value, cast<Value>(*upper), 0,
                      nullptr};
  return match;
}

//===----------------------------------------------------------------------===//
// Emission
//===----------------------------------------------------------------------===//

/// Materialises the position operand before the attention, or returns a
/// null value when the scatter index does not dominate it.
Value materializePosition(OpBuilder &builder, Location loc,
                          const PositionSource &pos, Operation *anchor) {
  DominanceInfo dom(anchor->getParentWithTrait<OpTrait::IsIsolatedFromAbove>());
  // The annotation goes right after the anchor: values defined before the
  // anchor dominate it.
  auto dominates = [&](Value v) {
    return v && dom.properlyDominates(v, anchor);
  };
  auto toIndex = [&](Value v) -> Value {
    if (v.getType().isIndex())
      return v;
    if (!v.getType().isSignlessInteger())
      return {};
    return arith::IndexCastOp::create(builder, loc, builder.getIndexType(), v);
  };
  switch (pos.kind) {
  case PositionSource::Kind::StaticOffset:
    return arith::ConstantIndexOp::create(builder, loc, pos.offset);
  case PositionSource::Kind::Value: {
    if (dominates(pos.value))
      return toIndex(pos.value);
    // A constant index defined where it is used (inside a scatter body).
    APInt constant;
    if (matchPattern(pos.value, m_ConstantInt(&constant)))
      return arith::ConstantIndexOp::create(builder, loc,
                                            constant.getSExtValue());
    return {};
  }
  case PositionSource::Kind::TensorElement: {
    auto type = dyn_cast<RankedTensorType>(pos.value.getType());
    if (!dominates(pos.value) || !type || !type.getElementType().isIntOrIndex())
      return {};
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    SmallVector<Value> indices(type.getRank(), zero);
    Value element = tensor::ExtractOp::create(builder, loc, pos.value, indices);
    return toIndex(element);
  }
  case PositionSource::Kind::None:
    return {};
  }
  return {};
}

/// The entry block of the closest isolated region enclosing `op`.
Block *declarationBlock(Operation *op) {
  Operation *scope = op->getParentWithTrait<OpTrait::IsIsolatedFromAbove>();
  if (!scope || scope->getNumRegions() == 0 || scope->getRegion(0).empty())
    return nullptr;
  return &scope->getRegion(0).front();
}

/// Remark describing a raised attention.
void remarkAttention(const AttentionMatch &m, int64_t id, bool positionFound) {
  const KvGeometry &g = m.geometry;
  InFlightDiagnostic diag =
      m.anchor->emitRemark()
      << "attention " << id << " (" << stringifySoftmaxForm(m.form)
      << "): kv_heads = " << g.kvHeads << ", head_dim = " << g.headDim
      << ", tokens = " << g.tokens << ", batch = " << g.batch;
  if (m.queryHeads > 0 && m.queryHeads != g.kvHeads)
    diag << ", GQA " << m.queryHeads << "/" << g.kvHeads;
  if (!m.persistentCache)
    diag << "; K/V are activations, not a persistent KV cache";
  if (!positionFound)
    diag << "; no scatter of the new token found, position = sequence length "
         << g.tokens;
  else if (!m.position.scatter)
    diag << "; position = length of the [0, n) cache read";
}

/// Next attention id: one past the largest id in the enclosing module.
int64_t nextAttentionId(Operation *op) {
  Operation *top = op;
  while (Operation *parent = top->getParentOp())
    top = parent;
  int64_t next = 0;
  top->walk([&](AttentionOp attention) {
    if (auto id = attention->getAttrOfType<IntegerAttr>(kAttentionIdAttrName))
      next = std::max(next, id.getInt() + 1);
  });
  return next;
}

/// Reports a near miss as a remark (when enabled) and counts it.
void reportNearMiss(Operation *root, StringRef what,
                    const RaiseAttentionConfig &config) {
  if (config.counters)
    ++config.counters->nearMisses;
  if (config.emitRemarks)
    root->emitRemark() << "not raised as attention: " << what;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Raises attention around a tensor softmax (any op: exp or linalg.softmax).
struct RaiseSoftmaxAttention : RewritePattern {
  RaiseSoftmaxAttention(MLIRContext *ctx, RaiseAttentionConfig config)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx),
        config(config) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (op->hasAttr(kAttentionIdAttrName) ||
        !isa<linalg::SoftmaxOp, linalg::GenericOp, linalg::ExpOp, math::ExpOp,
             tosa::ExpOp>(op))
      return failure();
    std::string nearMiss;
    FailureOr<AttentionMatch> match = matchAttention(op, nearMiss);
    if (failed(match)) {
      if (!nearMiss.empty())
        reportNearMiss(op, nearMiss, config);
      return failure();
    }
    return emitAttention(rewriter, *match, config, nextAttentionId(op));
  }

  RaiseAttentionConfig config;
};

/// Raises a fused online-softmax loop (affine.for / scf.for).
struct RaiseOnlineSoftmaxLoop : OpInterfaceRewritePattern<LoopLikeOpInterface> {
  RaiseOnlineSoftmaxLoop(MLIRContext *ctx, RaiseAttentionConfig config)
      : OpInterfaceRewritePattern(ctx), config(config) {}

  LogicalResult matchAndRewrite(LoopLikeOpInterface loop,
                                PatternRewriter &rewriter) const override {
    if (loop->hasAttr(kAttentionIdAttrName))
      return failure();
    std::string nearMiss;
    FailureOr<AttentionMatch> match = matchAttention(loop, nearMiss);
    if (failed(match)) {
      if (!nearMiss.empty())
        reportNearMiss(loop, nearMiss, config);
      return failure();
    }
    return emitAttention(rewriter, *match, config, nextAttentionId(loop));
  }

  RaiseAttentionConfig config;
};

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

StringRef mlir::kvtier::stringifySoftmaxForm(SoftmaxForm form) {
  switch (form) {
  case SoftmaxForm::LinalgSoftmax:
    return "linalg.softmax";
  case SoftmaxForm::ExpSumDiv:
    return "exp/sum/div softmax";
  case SoftmaxForm::LogSumExp:
    return "log-sum-exp softmax";
  case SoftmaxForm::OnlineLoop:
    return "fused online-softmax loop";
  }
  return "unknown";
}

FailureOr<AttentionMatch> mlir::kvtier::matchAttention(Operation *root,
                                                       std::string &nearMiss) {
  nearMiss.clear();
  if (auto loop = dyn_cast<LoopLikeOpInterface>(root)) {
    if (!isOnlineSoftmaxCandidate(loop))
      return failure();
    return matchOnlineLoop(loop, nearMiss);
  }
  std::optional<SoftmaxInfo> softmax = matchSoftmax(root);
  if (!softmax)
    return failure();
  FailureOr<AttentionMatch> match = matchTensorAttention(*softmax, nearMiss);
  if (failed(match))
    nearMiss =
        (stringifySoftmaxForm(softmax->form) + " found, but " + nearMiss).str();
  return match;
}

LogicalResult mlir::kvtier::emitAttention(RewriterBase &rewriter,
                                          const AttentionMatch &match,
                                          const RaiseAttentionConfig &config,
                                          int64_t id) {
  const KvGeometry &g = match.geometry;
  Operation *anchor = match.anchor;
  Block *declBlock = declarationBlock(anchor);
  if (!declBlock)
    return failure();
  if (g.kvHeads <= 0 || g.headDim <= 0 || g.batch <= 0 || g.tokens <= 0 ||
      !g.element || !g.element.isIntOrFloat() ||
      g.element.getIntOrFloatBitWidth() % 8 != 0) {
    reportNearMiss(anchor,
                   "the keys/values have an empty dimension or an element "
                   "type that is not a whole number of bytes",
                   config);
    return failure();
  }
  if (g.tokens < config.blockTokens) {
    if (config.counters)
      ++config.counters->errors;
    return anchor->emitError()
           << "attention cache of " << g.tokens
           << " tokens is shorter than one block of " << config.blockTokens
           << " tokens; run with block=" << g.tokens << " or less";
  }
  MLIRContext *ctx = rewriter.getContext();
  auto cacheType = CacheType::get(ctx, 1, g.kvHeads, g.headDim, g.element,
                                  config.blockTokens, g.tokens, g.batch);
  OpBuilder::InsertionGuard guard(rewriter);
  auto firstNonCache = llvm::find_if(
      *declBlock, [](Operation &op) { return !isa<CacheOp>(op); });
  rewriter.setInsertionPoint(declBlock, firstNonCache);
  auto cache = CacheOp::create(
      rewriter, anchor->getLoc(), cacheType,
      rewriter.getStringAttr("attn" + std::to_string(id) + ".kv"), nullptr);
  rewriter.setInsertionPointAfter(anchor);
  Location loc = anchor->getLoc();
  Value position = materializePosition(rewriter, loc, match.position, anchor);
  bool positionFound = static_cast<bool>(position);
  if (!position)
    position = arith::ConstantIndexOp::create(rewriter, loc, g.tokens);
  auto attention = AttentionOp::create(rewriter, loc, Type(), cache,
                                       rewriter.getI64IntegerAttr(0), position,
                                       Value(), nullptr, nullptr);
  IntegerAttr idAttr = rewriter.getI64IntegerAttr(id);
  attention->setAttr(kAttentionIdAttrName, idAttr);
  llvm::SmallPtrSet<Operation *, 16> tagged;
  for (Operation *op : match.ops)
    if (tagged.insert(op).second)
      rewriter.modifyOpInPlace(
          op, [&] { op->setAttr(kAttentionIdAttrName, idAttr); });
  if (config.counters)
    ++config.counters->attention;
  if (config.emitRemarks)
    remarkAttention(match, id, positionFound);
  return success();
}

void mlir::kvtier::populateRaiseAttentionPatterns(
    RewritePatternSet &patterns, const RaiseAttentionConfig &config) {
  patterns.add<RaiseSoftmaxAttention, RaiseOnlineSoftmaxLoop>(
      patterns.getContext(), config);
}

void mlir::kvtier::populateRaiseAttentionPatterns(RewritePatternSet &patterns) {
  populateRaiseAttentionPatterns(patterns, RaiseAttentionConfig());
}
