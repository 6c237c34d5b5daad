//===- Elementwise.cpp - classification of elementwise ops and reductions -===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Recognises ops that apply one scalar function elementwise (tosa, linalg
// named, linalg.generic with a one-op body, arith/math on tensors) and
// one-dimension reductions (sum, max), whatever dialect writes them.
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
  // exp(a - b) in one body (a softmax numerator with the row max as the
  // second input): ExpSub with the arguments of the subtraction.
  if (ew.kind == EwKind::Exp) {
    Operation *sub = stripScalarCasts(core->getOperand(0)).getDefiningOp();
    if (sub && sub->getBlock() == &body && isa<arith::SubFOp>(sub)) {
      int a = argIndex(sub->getOperand(0)), b = argIndex(sub->getOperand(1));
      if (a >= 0 && b >= 0)
        return Elementwise{EwKind::ExpSub, {a, b}};
    }
  }
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

} // namespace mlir::kvtier::raise
