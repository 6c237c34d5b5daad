//===- Softmax.cpp - softmax forms ----------------------------------------===//
//
// Part of kv-opt (kvtier-raise-attention matchers). Recognises the tensor softmax forms: linalg.softmax, exp/sum/div (with
// or without max subtraction, divide or reciprocal-multiply) and
// log-sum-exp normalisation.
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

/// Looks through broadcasts and unit-dim reshapes of a (reduced) value.
Value stripBroadcast(Value v) {
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def || def->getNumOperands() == 0 || !isDataMovement(def) ||
        isa<tosa::TransposeOp, linalg::TransposeOp>(def))
      return v;
    v = dataOperand(def);
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
std::optional<SoftmaxInfo> matchExpSumDiv(Operation *exp, Value y,
                                          bool lookForSubMax = true) {
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
    if (auto subMax = lookForSubMax ? matchSubMax(y) : std::nullopt) {
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
  if (!ew || (ew->kind != EwKind::Exp && ew->kind != EwKind::ExpSub))
    return std::nullopt;
  // exp(x - shift): the shift is the row max (exp/sum/div) or the
  // log-sum-exp term.
  Value x, shift;
  Operation *sub = nullptr;
  if (ew->kind == EwKind::ExpSub) {
    x = ewOperand(root, *ew, 0);
    shift = ewOperand(root, *ew, 1);
    if (!x || !shift)
      return std::nullopt;
    if (auto info = matchExpSumDiv(root, x, /*lookForSubMax=*/false)) {
      Operation *maxOp = stripBroadcast(shift).getDefiningOp();
      std::optional<Reduction> max = matchReduction(maxOp);
      if (max && max->kind == ReductionKind::Max && max->input == x)
        info->ops.push_back(maxOp);
      return info;
    }
  } else {
    Value y = ewOperand(root, *ew, 0);
    if (!y)
      return std::nullopt;
    if (auto info = matchExpSumDiv(root, y))
      return info;
    sub = y.getDefiningOp();
    std::optional<Elementwise> subEw = classifyElementwise(sub);
    if (!subEw || subEw->kind != EwKind::Sub)
      return std::nullopt;
    x = ewOperand(sub, *subEw, 0);
    shift = ewOperand(sub, *subEw, 1);
    if (!x || !shift)
      return std::nullopt;
  }
  auto term = matchLogSumExpTerm(shift, x);
  if (!term)
    return std::nullopt;
  SoftmaxInfo info{
      SoftmaxForm::LogSumExp, x, root->getResult(0), term->first.dim, {root}};
  if (sub)
    info.ops.push_back(sub);
  info.ops.append(term->second);
  return info;
}

/// True when `v` is a loop-carried value of a loop enclosing it, or is
/// computed from one by the op defining it (a running max or sum).
static bool isRunning(Value v) {
  auto carried = [](Value x) {
    auto arg = dyn_cast<BlockArgument>(x);
    auto loop = arg ? dyn_cast<LoopLikeOpInterface>(
                          arg.getOwner()->getParentOp())
                    : LoopLikeOpInterface();
    return loop && loop.getTiedLoopInit(arg) != nullptr;
  };
  if (carried(v))
    return true;
  Operation *def = stripBroadcast(v).getDefiningOp();
  return def && llvm::any_of(def->getOperands(), carried);
}

std::string describeSoftmaxNearMiss(Operation *root) {
  std::optional<Elementwise> ew = classifyElementwise(root);
  if (!ew || (ew->kind != EwKind::Exp && ew->kind != EwKind::ExpSub))
    return {};
  Value e = root->getResult(0);
  Operation *sumOp = nullptr;
  for (Operation *user : e.getUsers()) {
    std::optional<Reduction> red = matchReduction(user);
    if (red && red->kind == ReductionKind::Sum && red->input == e)
      sumOp = user;
  }
  if (!sumOp)
    return {};
  // The sum of a log-sum-exp term: matched from the softmax's own exp.
  for (Operation *user : sumOp->getResult(0).getUsers()) {
    std::optional<Elementwise> userEw = classifyElementwise(user);
    if (userEw && userEw->kind == EwKind::Log)
      return {};
  }
  // The shift of exp(x - shift), if any.
  Value shift;
  if (ew->kind == EwKind::ExpSub) {
    shift = ewOperand(root, *ew, 1);
  } else if (Value y = ewOperand(root, *ew, 0)) {
    Operation *sub = y.getDefiningOp();
    std::optional<Elementwise> subEw = classifyElementwise(sub);
    if (subEw && subEw->kind == EwKind::Sub)
      shift = ewOperand(sub, *subEw, 1);
  }
  bool runningSum = llvm::any_of(sumOp->getResult(0).getUsers(),
                                 [](Operation *user) {
                                   return llvm::any_of(user->getOperands(),
                                                       isRunning);
                                 });
  bool runningMax = shift && isRunning(shift);
  std::string what = shift ? "exp(x - m)" : "exp(x)";
  what += " and a sum reduction of it found";
  if (runningMax || runningSum)
    what += std::string(", with a running ") +
            (runningMax && runningSum ? "max and sum"
             : runningMax             ? "max"
                                      : "sum") +
            " carried by the enclosing loop (an online softmax over tiles)";
  what += ", but the exponentials are not normalised by the sum (divide, or "
          "multiply by its reciprocal)";
  if (runningMax || runningSum)
    what += "; tiled online softmax, normalised after the loop, is not raised";
  return what;
}

} // namespace mlir::kvtier::raise
